-- expect: memory
-- why: coroutines are ~1 KB each (stack + CallInfo); accumulating them must hit the cap
-- message: memory

local cos = {}
local i = 0
while true do
  i = i + 1
  local co = coroutine.create(function() coroutine.yield() end)
  coroutine.resume(co)
  cos[i] = co
end
