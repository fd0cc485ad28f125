-- expect: permission
-- why: string.dump produces bytecode (the input of every bytecode exploit); it is withheld
-- message: string.dump

local bytes = string.dump(function() return 1 end)
return #bytes
