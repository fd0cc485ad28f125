-- expect: limit
-- why: table.concat of 2048 x 4 KiB = 8 MiB > 4 MiB
-- message: table.concat

local chunk = ("x"):rep(4096)
local parts = {}
for i = 1, 2048 do parts[i] = chunk end
return #table.concat(parts)
