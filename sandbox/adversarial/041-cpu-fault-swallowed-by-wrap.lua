-- expect: cpu
-- why: same as above through coroutine.wrap + pcall: the re-raised fault arrives as a plain error on a thread whose hook was not re-armed

local ok, err = pcall(coroutine.wrap(function() while true do end end))
return "escaped"
