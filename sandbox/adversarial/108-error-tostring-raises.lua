-- expect: runtime
-- why: the error object's __tostring raises: the host must still report something

error(setmetatable({}, { __tostring = function() error("tostring exploded") end }))
