-- expect: runtime
-- why: json.array(proxy) would replace the read-only proxy's protected metatable (lua_setmetatable ignores __metatable); it must refuse
-- message: already has a metatable

local json = require("json")
json.array(string)
string.upper = nil
return "stripped"
