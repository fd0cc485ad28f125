-- expect: cpu
-- why: load() calls the reader function from C (lua_load); an endless reader must be stopped by the hook
-- message: budget

local fn = load(function() while true do end end)
return fn
