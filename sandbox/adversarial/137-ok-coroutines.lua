-- expect: ok
-- why: control: a generator coroutine, coroutine.wrap and status
-- result: [1,2,3,5,"dead"]

local gen = coroutine.create(function()
  for i = 1, 3 do coroutine.yield(i) end
end)
local got = {}
while true do
  local ok, v = coroutine.resume(gen)
  if v == nil then break end
  got[#got + 1] = v
end
local squares = coroutine.wrap(function() for i = 1, 2 do coroutine.yield(i * i) end end)
got[#got + 1] = squares() + squares()
got[#got + 1] = coroutine.status(gen)
return got
