-- expect: runtime
-- why: two __close handlers raise while an error unwinds; 5.4 reports the last error raised
-- message: from close

local a <close> = setmetatable({}, { __close = function() error("from close a", 0) end })
local b <close> = setmetatable({}, { __close = function() error("from close b", 0) end })
error("original", 0)
