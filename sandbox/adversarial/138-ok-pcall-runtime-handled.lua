-- expect: ok
-- why: control: an ordinary runtime error caught by pcall is handled and the chunk succeeds
-- result: [false,"string",false,7]

local ok, err = pcall(function() local t = nil; return t.field end)
local ok2, err2 = pcall(error, { code = 7 })
return { ok, type(err), ok2, err2.code }
