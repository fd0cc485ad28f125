-- expect: permission
-- why: io is withheld: reading the global must be a permission fault, never a file handle
-- message: 'io' is not available

local f = io.open("/etc/passwd", "r")
return f and f:read("a")
