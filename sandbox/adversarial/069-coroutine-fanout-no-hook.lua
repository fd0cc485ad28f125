-- expect: cpu
-- why: the count hook is per thread and every new coroutine starts with a fresh 1000-instruction countdown: a tree of coroutines (12 children each, 12 deep) in which no thread ever executes 1000 instructions never fires the hook, so neither the instruction budget nor the clock is ever checked (stock 5.4.4 with an emulated 1000-count hook: 400k coroutines, 0 hook calls). Coroutine creation/resume must be charged
-- message: budget

local SPAWN, DEPTH = 12, 12
local function node(depth)
  if depth == 0 then return end
  for i = 1, SPAWN do
    local co = coroutine.create(node)
    coroutine.resume(co, depth - 1)
  end
end
node(DEPTH)
return "finished"
