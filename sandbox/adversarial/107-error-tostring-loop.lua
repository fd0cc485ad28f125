-- expect: runtime
-- why: the error object's __tostring never returns: describing the error (host side) must stay bounded and report the plugin's runtime error, not hang

error(setmetatable({}, { __tostring = function() while true do end end }))
