-- expect: cpu
-- why: an __index function that never returns, reached by a plain field read
-- message: budget

local t = setmetatable({}, { __index = function() while true do end end })
return t.anything
