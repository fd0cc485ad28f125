-- expect: cpu
-- why: table.sort (C) calling an __lt metamethod that loops: the C caller does not shield the Lua code from the hook
-- message: budget

local mt = { __lt = function() while true do end end }
local list = {}
for i = 1, 8 do list[i] = setmetatable({}, mt) end
table.sort(list)
return "sorted"
