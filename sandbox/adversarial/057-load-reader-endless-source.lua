-- expect: cpu
-- why: a reader that supplies an endless stream of comment lines: parsing itself is unhooked, only the reader calls and the clock can end it
-- message: budget

local line = "-- " .. ("x"):rep(4000) .. "\n"
local fn = load(function() return line end)
return fn
