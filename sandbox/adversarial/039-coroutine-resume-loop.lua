-- expect: cpu
-- why: endless ping-pong between the chunk and a coroutine: the budget counts instructions of every coroutine
-- message: budget

local co = coroutine.wrap(function()
  while true do coroutine.yield(1) end
end)
local n = 0
while true do n = n + co() end
