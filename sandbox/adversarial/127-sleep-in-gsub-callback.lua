-- expect: runtime
-- why: time.sleep inside a gsub callback (the host's C matcher is not yieldable)
-- message: cannot be called here

local time = require("time")
return (("ab"):gsub(".", function(c) time.sleep(0) return c end))
