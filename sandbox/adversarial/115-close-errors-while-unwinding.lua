-- expect: runtime
-- why: two __close handlers raise while an error unwinds to the host: must stay a contained runtime error (the host may report the original error and run the closers afterwards)

local a <close> = setmetatable({}, { __close = function() error("from close a", 0) end })
local b <close> = setmetatable({}, { __close = function() error("from close b", 0) end })
error("original", 0)
