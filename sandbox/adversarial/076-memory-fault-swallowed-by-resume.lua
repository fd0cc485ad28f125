-- expect: memory
-- why: a coroutine runs out of memory; resume returns (false, 'not enough memory') and the chunk returns at once
-- message: memory

local co = coroutine.create(function()
  local t = {}
  while true do t[#t + 1] = { #t, #t, #t, #t, #t, #t, #t, #t, #t, #t, #t, #t, #t, #t, #t, #t } end
end)
local ok, err = coroutine.resume(co)
return "escaped"
