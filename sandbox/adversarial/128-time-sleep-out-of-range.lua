-- expect: runtime
-- why: host functions must range-check numbers (CVE-2024-31449 lesson): a 292-million-year sleep is refused, NaN has no integer value
-- message: between 0 and

local time = require("time")
local ok, err = pcall(time.sleep, 0 / 0)
assert(not ok, "NaN sleep accepted")
return time.sleep(math.maxinteger)
