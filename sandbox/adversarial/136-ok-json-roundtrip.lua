-- expect: ok
-- why: control: json.decode/json.encode round trip of an ordinary document
-- result: ["Ada","y",3,true]

local json = require("json")
local doc = json.decode('{"name":"Ada","tags":["x","y"],"n":3,"nested":{"ok":true}}')
local back = json.decode(json.encode(doc))
return { back.name, back.tags[2], back.n, back.nested.ok }
