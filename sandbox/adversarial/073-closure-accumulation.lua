-- expect: memory
-- why: millions of closures each holding an upvalue
-- message: memory

local fs = {}
local i = 0
while true do
  i = i + 1
  local captured = i
  fs[i] = function() return captured end
end
