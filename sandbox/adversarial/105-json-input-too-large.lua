-- expect: limit
-- why: json.decode of a 9 MiB document (built with '..', which is not size-checked) exceeds json_bytes
-- message: json.decode

local part = ("1,"):rep(1536 * 1024)
local doc = "[" .. part .. part .. part .. "1]"
return #require("json").decode(doc)
