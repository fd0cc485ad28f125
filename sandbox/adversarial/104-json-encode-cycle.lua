-- expect: limit
-- why: a table that contains itself: encoding must stop at the depth limit
-- message: json.encode

local t = {}
t.self = t
return require("json").encode(t)
