-- expect: runtime
-- why: setmetatable only accepts tables; no way to give strings/numbers a new metatable
-- message: table expected

setmetatable("", { __index = function() return "hijacked" end })
return ("x").anything
