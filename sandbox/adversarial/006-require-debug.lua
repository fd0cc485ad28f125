-- expect: permission
-- why: require of a withheld standard library must not hand it out
-- message: not available

local d = require("debug")
return d.getregistry ~= nil
