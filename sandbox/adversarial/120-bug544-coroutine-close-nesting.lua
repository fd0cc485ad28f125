-- expect: permission
-- why: setmetatable refuses __close (Lua 5.4.4 mishandles to-be-closed values: see 153); this script was the threat before: Lua 5.4.4 bug 'C-stack overflow with deep nesting of coroutine.close' (fixed 5.4.6): lua_resetthread does not inherit nCcalls, so each closed coroutine's __close gets a fresh C-stack allowance; 150 __index levels per coroutine make ~250 coroutines enough to SIGSEGV stock 5.4.4 on an 8 MiB stack. Every thread stays shallow (per-coroutine depth checks pass): the host must bound nested coroutine.close state-wide
-- message: __close metamethods are not allowed

local DEPTH, COUNT = 150, 1000
local target = nil
local descend = setmetatable({}, { __index = function(t, n)
  if n > 0 then return t[n - 1] end   -- each level is a metamethod call: one more C frame
  local victim = target
  target = nil
  coroutine.close(victim)             -- runs victim's __close with a fresh C-call count
  return 0
end })
local prev = nil
for i = 1, COUNT do
  local below = prev
  local co = coroutine.create(function()
    local guard <close> = setmetatable({}, { __close = function()
      if below then
        target = below
        local _ = descend[DEPTH]
      end
    end })
    coroutine.yield()
  end)
  coroutine.resume(co)
  prev = co
end
coroutine.close(prev)
return "survived"
