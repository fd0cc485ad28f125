-- expect: limit
-- why: a single gmatch iteration over 100k 'a' with 'a*b' tries every start position to the end (O(n^2))
-- message: pattern matching exceeded

local n = 0
for m in ("a"):rep(100000):gmatch("a*b") do n = n + 1 end
return n
