-- expect: ok
-- why: Lua 5.4.4 bug 'wrong code generation for constants in bitwise operations' (> 255 constants, then 1 ~ (2 or 3)): stock 5.4.4 computes wrong values but stays memory-safe (valgrind-clean) -- harmless to the host
-- result: "completed"

local parts = { "local k = {" }
for i = 1, 300 do parts[#parts + 1] = i .. ".5," end
parts[#parts + 1] = "} return (100 ~ (2 or 3)), (5 | (8 or 9)), (1 << (3 or 4))"
local fn = assert(load(table.concat(parts)))
local a, b, c = fn()
assert(math.type(a) == "integer" and math.type(b) == "integer" and math.type(c) == "integer")
return "completed"
