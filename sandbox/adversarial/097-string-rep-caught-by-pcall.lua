-- expect: limit
-- why: a limit fault swallowed by pcall must still end the invocation
-- message: string.rep

local ok = pcall(string.rep, "x", 2^30)
return "escaped"
