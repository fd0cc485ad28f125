-- expect: cpu
-- why: table.insert(t, 1, v) shifts luaL_len(t) elements in C; a __len returning ~maxinteger makes it loop ~9e18 times without a VM instruction (the charge uses rawlen = 0)

local t = setmetatable({}, { __len = function() return math.maxinteger - 1 end })
table.insert(t, 1, "x")
return "inserted"
