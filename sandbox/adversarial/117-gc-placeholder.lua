-- expect: permission
-- why: classic trick: a non-nil __gc placeholder at setmetatable time marks the object, a function put there later runs; any non-nil __gc must be refused
-- message: __gc

local mt = { __gc = true }
setmetatable({}, mt)
mt.__gc = function() while true do end end
return "accepted"
