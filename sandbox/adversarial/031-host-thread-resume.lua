-- expect: permission
-- why: the invocation's own coroutine belongs to the host: plugins may not resume or close it
-- message: belongs to the host

local me = coroutine.running()
coroutine.close(me)
return coroutine.resume(me)
