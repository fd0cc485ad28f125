-- expect: permission
-- why: Lua 5.1 escape idiom: getfenv/setfenv do not exist in 5.4 and must read as withheld names
-- message: setfenv

setfenv(1, {})
return getfenv(0)
