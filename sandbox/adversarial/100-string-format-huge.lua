-- expect: limit
-- why: string.format('%s%s') of two 3 MiB strings = 6 MiB > 4 MiB
-- message: string.format

local s = ("x"):rep(3 * 1024 * 1024)
return #string.format("%s%s", s, s)
