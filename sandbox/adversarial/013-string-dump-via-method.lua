-- expect: permission
-- why: the string metatable's __index must be the guarded string table: (''):dump is still withheld
-- message: string.dump

local bytes = (""):dump(function() return 1 end)
return #bytes
