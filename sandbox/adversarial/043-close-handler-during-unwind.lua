-- expect: cpu
-- why: after the cpu fault, unwinding runs a __close that loops forever and swallows nothing: the re-armed hook must fire inside it
-- message: budget

local guard <close> = setmetatable({}, { __close = function()
  local n = 0
  while true do n = n + 1 end
end })
while true do end
