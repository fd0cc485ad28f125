-- expect: cpu
-- why: the cpu fault is caught by pcall in a loop; the hook must re-raise on the next instruction so the loop cannot continue
-- message: budget

while true do
  pcall(function() while true do end end)
end
