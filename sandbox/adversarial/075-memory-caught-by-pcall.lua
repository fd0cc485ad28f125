-- expect: memory
-- why: the memory fault is caught by pcall and the chunk keeps allocating and returns: the fault must be sticky
-- message: memory

local ok = pcall(function()
  local t = {}
  while true do t[#t + 1] = ("x"):rep(16384) end   -- long strings are not interned: each is new
end)
local after = {}
for i = 1, 100 do after[i] = { i } end
return "escaped"
