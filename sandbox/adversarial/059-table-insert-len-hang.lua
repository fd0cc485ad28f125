-- expect: limit
-- why: table.insert(t, 1, v) shifts luaL_len(t) elements in C; a __len returning ~maxinteger would make it loop ~9e18 times with no VM instruction, and __len can lie differently to the charge and to the call: tables with __len are refused

-- message: __len
local t = setmetatable({}, { __len = function() return math.maxinteger - 1 end })
table.insert(t, 1, "x")
return "inserted"
