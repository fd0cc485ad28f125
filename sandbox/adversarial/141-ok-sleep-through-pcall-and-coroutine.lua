-- expect: ok
-- why: control: host yields pass through pcall and through plugin coroutines
-- result: [true,"inner"]

local time = require("time")
local ok = pcall(function() return time.sleep(1) end)
local inner = coroutine.wrap(function() time.sleep(1); return "inner" end)
return { ok, inner() }
