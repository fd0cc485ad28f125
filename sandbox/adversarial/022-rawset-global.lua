-- expect: permission
-- why: rawset bypasses __newindex: rawset(_G, k, v) must not create a global (brief: writing a global -> permission)

rawset(_G, "leaked", 42)
return leaked
