-- expect: ok
-- why: control: metamethods called from Lua code may yield in 5.4, so time.sleep inside __index works
-- result: 5

local time = require("time")
local t = setmetatable({}, { __index = function(_, k) time.sleep(1) return 5 end })
return t.anything
