-- expect: stack
-- why: plain non-tail recursion: the call-depth limit (200) must end it

local function f(n) return 1 + f(n + 1) end
return f(1)
