-- expect: stack
-- why: __tostring calling tostring(self): C-to-Lua-to-C recursion ends in 'C stack overflow' -> stack

local t = setmetatable({}, { __tostring = function(self) return tostring(self) end })
return tostring(t)
