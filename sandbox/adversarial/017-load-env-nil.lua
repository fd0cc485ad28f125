-- expect: runtime
-- why: load with an explicit nil env gives a chunk whose _ENV is nil; it must not fall back to the real globals
-- message: _ENV

local fn = assert(load("return io", "=nil-env", "t", nil))
return fn()
