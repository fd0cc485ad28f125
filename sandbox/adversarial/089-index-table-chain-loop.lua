-- expect: runtime
-- why: two tables whose __index point at each other: Lua stops the loop after 2000 hops in C (no recursion)
-- message: chain too long

local a, b = {}, {}
setmetatable(a, { __index = b })
setmetatable(b, { __index = a })
return a.missing
