-- expect: permission
-- why: a loaded chunk's default env is the sandbox env: its global writes are refused too
-- message: assignment to global

local fn = assert(load("leaked_global = 1"))
fn()
return leaked_global
