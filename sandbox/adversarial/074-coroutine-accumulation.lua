-- expect: memory
-- why: suspended coroutines each parked 150 calls deep (~50 KB of Lua stack + CallInfo each) accumulate until the allocator cap; each is heavy enough that memory, not the per-coroutine creation charge, ends it
-- message: memory

local function dig(n)
  local a, b, c, d, e, f, g, h = n, n, n, n, n, n, n, n   -- wide frames
  if n == 0 then coroutine.yield() return 0 end
  return dig(n - 1) + a + b + c + d + e + f + g + h       -- not a tail call: frames stay
end
local cos, i = {}, 0
while true do
  i = i + 1
  local co = coroutine.create(dig)
  coroutine.resume(co, 150)
  cos[i] = co
end
