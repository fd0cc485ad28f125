-- expect: limit
-- why: table.remove(t, 1) with a lying __len: the same endless C loop as insert; tables with __len are refused

-- message: __len
local t = setmetatable({}, { __len = function() return math.maxinteger end })
table.remove(t, 1)
return "removed"
