-- expect: permission
-- why: control for sticky faults on one thread: pcall catches the permission fault, the hook re-raises on the next instruction

local ok = pcall(function() return io end)
return "escaped"
