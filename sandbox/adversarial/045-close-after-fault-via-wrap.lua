-- expect: cpu
-- why: a cpu fault raised by the hook inside a coroutine leaves that thread with hooks disabled (allowhook = 0); the sandbox's coroutine.wrap then closes the dead coroutine, running its looping __close unhooked
-- message: budget

local run = coroutine.wrap(function()
  local guard <close> = setmetatable({}, { __close = function() while true do end end })
  while true do end
end)
run()
return "unreachable"
