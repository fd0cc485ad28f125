-- expect: permission
-- why: faults are sticky: a permission fault raised inside a plugin coroutine must not be turned into a (false, msg) that the invocation shrugs off before the next hook check

local co = coroutine.create(function() return io end)
local ok, err = coroutine.resume(co)
return "escaped"
