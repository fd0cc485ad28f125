-- expect: permission
-- why: only collectgarbage('count') is allowed (full collections are unbounded C work; 'generational' reaches a 5.4.4 GC bug)
-- message: collectgarbage

collectgarbage("collect")
return collectgarbage("count")
