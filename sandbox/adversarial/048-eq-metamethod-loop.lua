-- expect: cpu
-- why: __eq runs on == between two tables: endless loop inside a comparison
-- message: budget

local mt = { __eq = function() while true do end end }
local a, b = setmetatable({}, mt), setmetatable({}, mt)
return a == b
