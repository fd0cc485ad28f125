-- expect: runtime
-- why: coroutine.yield at chunk level yields the host's invocation coroutine with a non-host value: the host must fail the invocation cleanly
-- message: outside of a coroutine

coroutine.yield("not the host token")
return "resumed"
