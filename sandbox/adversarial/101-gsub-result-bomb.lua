-- expect: limit
-- why: gsub multiplying a 1 MiB subject by 8 (8 MiB result)
-- message: gsub

local s = ("x"):rep(1024 * 1024)
return #(s:gsub("x", "xxxxxxxx"))
