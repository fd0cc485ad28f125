-- expect: ok
-- why: __gc added after setmetatable is inert in 5.4 (objects are marked only at setmetatable time): churning the GC must not run it (if it ran, it would hang with hooks off)
-- result: "done"

local mt = {}
for i = 1, 1000 do setmetatable({}, mt) end
local ran = false
mt.__gc = function() ran = true; while true do end end
local junk
for i = 1, 200000 do junk = { i, tostring(i) } end
return ran and "finalizer ran" or "done"
