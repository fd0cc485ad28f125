-- expect: cpu
-- why: __tostring loops forever, reached through tostring (C calling Lua)
-- message: budget

local t = setmetatable({}, { __tostring = function() while true do end end })
return tostring(t)
