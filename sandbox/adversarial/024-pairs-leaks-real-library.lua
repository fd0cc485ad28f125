-- expect: permission
-- why: the read-only proxy's __pairs must not hand out the real string table, which is also the string metatable's __index (CVE-2025-46818 analogue: every ('x'):upper() in the state would be hijacked)
-- message: read-only

local _, second = pairs(string)
-- write to whatever table pairs exposes (the proxy itself if the real one is no longer leaked)
local target = type(second) == "table" and second or string
target.upper = function() return "hijacked" end
return ("abc"):upper()
