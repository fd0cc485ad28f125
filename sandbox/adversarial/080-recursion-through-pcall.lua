-- expect: stack
-- why: each level wraps the next in pcall, so Lua's own overflow error would be caught level by level; the depth fault is sticky

local function f() return pcall(f) end
f()
return "survived"
