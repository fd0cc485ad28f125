-- expect: limit
-- why: ('a'):rep(1e5):find('.-.-.-.-b') is O(n^5) backtracking (hangs stock Lua); the matcher's 5M-step budget must refuse it
-- message: pattern matching exceeded

return ("a"):rep(100000):find(".-.-.-.-b")
