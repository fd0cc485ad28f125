-- expect: ok
-- why: getmetatable('') returns false: the shared string metatable cannot be fetched or edited
-- result: false

return getmetatable("")
