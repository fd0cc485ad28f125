-- expect: cpu
-- why: __concat loops forever
-- message: budget

local t = setmetatable({}, { __concat = function() while true do end end })
return "a" .. t
