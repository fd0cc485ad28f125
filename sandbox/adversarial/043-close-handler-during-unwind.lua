-- expect: permission
-- why: setmetatable refuses __close (Lua 5.4.4 mishandles to-be-closed values: see 153); this script was the threat before: after the cpu fault, unwinding runs a __close that loops forever and swallows nothing: the re-armed hook must fire inside it
-- message: __close metamethods are not allowed

local guard <close> = setmetatable({}, { __close = function()
  local n = 0
  while true do n = n + 1 end
end })
while true do end
