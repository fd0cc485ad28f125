-- expect: memory
-- why: closures each holding eight upvalues, accumulated until the allocator cap
-- message: memory

local fs = {}
local i = 0
while true do
  i = i + 1
  local a, b, c, d, e, f, g, h = i, i, i, i, i, i, i, i
  fs[i] = function() return a + b + c + d + e + f + g + h end
end
