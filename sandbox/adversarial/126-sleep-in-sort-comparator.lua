-- expect: runtime
-- why: time.sleep yields; inside a table.sort comparator (a C boundary) it cannot, and must fail cleanly instead of corrupting the coroutine
-- message: cannot be called here

local time = require("time")
table.sort({ 3, 1, 2 }, function(a, b) time.sleep(0) return a < b end)
return "sorted"
