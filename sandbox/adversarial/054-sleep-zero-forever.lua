-- expect: cpu
-- why: an endless loop of time.sleep(0): every iteration yields to the host; the budget (host calls are charged) must persist across yields
-- message: budget

local time = require("time")
while true do time.sleep(0) end
