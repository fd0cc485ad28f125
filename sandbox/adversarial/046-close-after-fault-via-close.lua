-- expect: cpu
-- why: as above with an explicit coroutine.close of the coroutine that died of the cpu fault
-- message: budget

local co = coroutine.create(function()
  local guard <close> = setmetatable({}, { __close = function() while true do end end })
  while true do end
end)
local ok, err = coroutine.resume(co)
coroutine.close(co)
return "unreachable"
