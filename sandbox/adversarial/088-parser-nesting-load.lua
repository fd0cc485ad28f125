-- expect: ok
-- why: load of 100k nested '{' must fail cleanly inside the parser (5.4.4 says 'C stack overflow') and hand back nil, msg
-- result: "refused"

local fn, err = load("return " .. ("{"):rep(100000))
if fn then return "compiled" end
return "refused"
