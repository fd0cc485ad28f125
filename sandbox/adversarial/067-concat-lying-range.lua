-- expect: cpu
-- why: table.concat over 1..maxinteger of a table whose __index invents empty strings: every element is charged and runs Lua
-- message: budget

local t = setmetatable({}, { __index = function() return "" end })
return #table.concat(t, "", 1, math.maxinteger)
