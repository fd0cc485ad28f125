-- expect: ok
-- why: string.rep('', maxinteger) builds an empty string but stock 5.4.4 loops n-1 times in C (3e8 iterations = 1.7 s, maxinteger = forever); the guard charges 0 for it. Must return '' (or a cpu fault), never hang
-- result: 0

return #string.rep("", math.maxinteger)
