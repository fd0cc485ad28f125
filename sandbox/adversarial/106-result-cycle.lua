-- expect: limit
-- why: the chunk's own return value is a cycle: the host encodes the result under the JSON limits

local t = {}
t[1] = t
return t
