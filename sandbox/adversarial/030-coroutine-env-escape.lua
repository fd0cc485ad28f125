-- expect: permission
-- why: a coroutine body runs in the same sandbox env: no real globals behind coroutine.wrap
-- message: 'io' is not available

local get = coroutine.wrap(function() return io end)
return get() ~= nil
