-- expect: limit
-- why: json.decode of 100k nested '[' must stop at depth 64, not recurse 100k deep in C
-- message: json.decode

return require("json").decode(("["):rep(100000))
