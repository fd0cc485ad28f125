-- expect: cpu
-- why: each find stays under the 5M pattern-step limit (~1M steps) but the loop repeats it: pattern work must be charged to the instruction budget/clock, or ~125 calls (hundreds of ms) run between hook checks
-- message: budget

local subject = ("a"):rep(700)
local n = 0
while true do
  if subject:find(".-b") then break end
  n = n + 1
end
return n
