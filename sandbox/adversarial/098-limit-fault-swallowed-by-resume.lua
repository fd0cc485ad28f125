-- expect: limit
-- why: a limit fault inside a coroutine; resume returns (false, msg) and the chunk returns at once

local co = coroutine.create(function() return string.rep("x", 2^40) end)
local ok, err = coroutine.resume(co)
return "escaped"
