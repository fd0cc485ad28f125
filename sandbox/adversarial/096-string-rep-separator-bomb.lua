-- expect: limit
-- why: the separator counts too: rep('', 1e8, 'ab') is 200 MB of separators
-- message: string.rep

return #string.rep("", 100000000, "ab")
