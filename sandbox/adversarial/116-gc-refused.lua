-- expect: permission
-- why: finalizers run with hooks disabled in 5.4, so an endless __gc could never be stopped: setmetatable must refuse __gc
-- message: __gc

setmetatable({}, { __gc = function() while true do end end })
return "accepted"
