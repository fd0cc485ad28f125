-- expect: permission
-- why: switching the GC mode is refused
-- message: collectgarbage

collectgarbage("generational")
return "switched"
