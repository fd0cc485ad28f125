-- expect: permission
-- why: the read-only proxy's __pairs must not hand out the real string table, which is also the string metatable's __index (CVE-2025-46818 analogue: every ('x'):upper() in the state would be hijacked)
-- message: read-only

local _, real = pairs(string)
if type(real) == "table" and real ~= string then
  real.upper = function() return "hijacked" end
end
return ("abc"):upper()
