-- expect: runtime
-- why: lua-cjson is installed at /usr/lib/x86_64-linux-gnu/lua/5.4/cjson.so; require must never search package.cpath, only the plugin folder (-> not found)
-- message: not found

local cjson = require("cjson")
return cjson.encode({pwned = true})
