-- expect: stack
-- why: a gsub callback that calls gsub with itself: recursion through the host's C matcher

local function expand(s) return (s:gsub(".", expand)) end
return expand("ab")
