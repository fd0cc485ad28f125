-- expect: stack
-- why: the depth fault happens inside a coroutine; resume returns (false, msg) and the chunk returns at once

local co = coroutine.create(function()
  local function f() return 1 + f() end
  return f()
end)
local ok, err = coroutine.resume(co)
return "escaped"
