-- expect: ok
-- why: a metatable that only inherits __gc via its own __index: Lua reads metamethods raw, so nothing is marked or run
-- result: "done"

local inherited = { __gc = function() while true do end end }
local mt = setmetatable({}, { __index = inherited })
for i = 1, 1000 do setmetatable({}, mt) end
local junk
for i = 1, 200000 do junk = { i, tostring(i) } end
return "done"
