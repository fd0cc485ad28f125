-- expect: limit
-- why: the pattern-step fault is caught by pcall; it must be sticky
-- message: pattern matching exceeded

local ok = pcall(string.find, ("a"):rep(100000), ".-.-.-b")
return "escaped"
