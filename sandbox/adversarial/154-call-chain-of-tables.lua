-- expect: permission
-- why: a __call that is a table calls itself: luaD_precall walks the chain inside one VM instruction, shifting the arguments up to the 1M-slot stack (quadratic), where the CPU hook never fires; only the watchdog ended it and the state was abandoned. setmetatable requires __call to be a function
-- message: __call must be a function

local mt, t = {}, {}
mt.__call = t
setmetatable(t, mt)
return t()
