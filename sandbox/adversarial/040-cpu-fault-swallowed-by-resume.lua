-- expect: cpu
-- why: a coroutine exhausts the budget; resume returns (false, msg); the chunk returns at once (< 1000 instructions): the invocation must still end with cpu, not ok

local co = coroutine.create(function() while true do end end)
local ok, err = coroutine.resume(co)
return "escaped"
