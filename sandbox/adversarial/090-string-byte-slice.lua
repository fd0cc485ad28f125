-- expect: stack
-- why: string.byte(s, 1, -1) of 2 MiB tries to push 2M values: Lua refuses with 'stack overflow (string slice too long)' (brief: Lua's own stack overflow -> stack)
-- message: string slice too long

return select("#", string.byte(("x"):rep(2 * 1024 * 1024), 1, -1))
