-- expect: permission
-- why: debug.getregistry reaches the real globals and every host object: debug must be withheld
-- message: 'debug' is not available

local reg = debug.getregistry()
return reg[2].io ~= nil
