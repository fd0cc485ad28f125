-- expect: limit
-- why: %b() on 200k unbalanced '(' rescans to the end from every start: O(n^2) = 2e10 steps
-- message: pattern matching exceeded

return (("("):rep(200000)):find("%b()")
