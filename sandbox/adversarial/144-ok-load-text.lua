-- expect: ok
-- why: control: load of text source in the sandbox env works
-- result: 42

local fn = assert(load("return 1 + ..."))
return fn(41)
