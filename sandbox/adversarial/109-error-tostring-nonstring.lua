-- expect: runtime
-- why: __tostring returning a table (luaL_tolstring raises) must not break error reporting

error(setmetatable({}, { __tostring = function() return {} end }))
