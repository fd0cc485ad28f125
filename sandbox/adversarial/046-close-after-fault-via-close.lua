-- expect: permission
-- why: setmetatable refuses __close (Lua 5.4.4 mishandles to-be-closed values: see 153); this script was the threat before: as above with an explicit coroutine.close of the coroutine that died of the cpu fault
-- message: __close metamethods are not allowed

local co = coroutine.create(function()
  local guard <close> = setmetatable({}, { __close = function() while true do end end })
  while true do end
end)
local ok, err = coroutine.resume(co)
coroutine.close(co)
return "unreachable"
