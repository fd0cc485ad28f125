-- expect: cpu
-- why: table.remove(t, 1) with a lying __len: same endless C loop as insert

local t = setmetatable({}, { __len = function() return math.maxinteger end })
table.remove(t, 1)
return "removed"
