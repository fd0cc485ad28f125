-- expect: permission
-- why: asking load for mode 'b' or 'bt' must be refused (mode is forced to 't')
-- message: mode

local fn = load("return 1", "=x", "bt")
return fn and fn()
