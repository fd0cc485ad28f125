-- expect: limit
-- why: grouping parentheses compile to the same register chain that Lua 5.4.4's getobjname recurses through (bug 546), so ((t.a.a…).a.a…) must count as one long chain, not several short ones
-- message: levels deep

local inner = "t" .. string.rep(".a", 200)
local src = "local t = ... return " .. string.rep("(", 60) .. inner .. string.rep(")" .. string.rep(".a", 200), 60) .. "()"
local fn, err = load(src, "=parens")
if not fn then return "refused: " .. tostring(err) end
return fn(setmetatable({}, { __index = function(t) return t end }))
