-- expect: permission
-- why: a __concat metamethod is refused before it can run (see 150: Lua 5.4.4 mishandles its stack during one)
-- message: __concat metamethods are not allowed

local t = setmetatable({}, { __concat = function() while true do end end })
return "a" .. t
