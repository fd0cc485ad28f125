-- expect: permission
-- why: globals the host provides (print, pcall, string, require) exist in the environment, so a __newindex guard alone would not see their reassignment; the global table is an empty proxy and every write is refused
-- message: assignment to global 'pcall'

pcall = function() return true end
return "replaced"
