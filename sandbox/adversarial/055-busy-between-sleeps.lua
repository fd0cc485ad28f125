-- expect: cpu
-- why: 200k instructions of work between yields: each slice is under budget, the invocation as a whole is not
-- message: budget

local time = require("time")
while true do
  for i = 1, 200000 do end
  time.sleep(0)
end
