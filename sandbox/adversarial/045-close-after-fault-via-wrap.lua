-- expect: permission
-- why: setmetatable refuses __close (Lua 5.4.4 mishandles to-be-closed values: see 153); this script was the threat before: a cpu fault raised by the hook inside a coroutine leaves that thread with hooks disabled (allowhook = 0); the sandbox's coroutine.wrap then closes the dead coroutine, running its looping __close unhooked
-- message: __close metamethods are not allowed

local run = coroutine.wrap(function()
  local guard <close> = setmetatable({}, { __close = function() while true do end end })
  while true do end
end)
run()
return "unreachable"
