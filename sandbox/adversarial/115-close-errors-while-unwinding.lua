-- expect: permission
-- why: setmetatable refuses __close (Lua 5.4.4 mishandles to-be-closed values: see 153); this script was the threat before: two __close handlers raise while an error unwinds to the host: must stay a contained runtime error (the host may report the original error and run the closers afterwards)
-- message: __close metamethods are not allowed

local a <close> = setmetatable({}, { __close = function() error("from close a", 0) end })
local b <close> = setmetatable({}, { __close = function() error("from close b", 0) end })
error("original", 0)
