-- expect: cpu
-- why: each find stays under the 5M pattern-step limit (~1M steps) but the loop repeats it: pattern work must be charged to the instruction budget/clock, or ~170 calls run between hook checks (seconds over a 250 ms budget)
-- message: budget

local subject = ("a"):rep(700)
local n = 0
while true do
  if subject:find(".-b") then break end
  n = n + 1
end
return n
