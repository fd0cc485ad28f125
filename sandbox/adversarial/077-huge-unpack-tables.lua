-- expect: memory
-- why: table.unpack of ~1M values grows the Lua stack to 16 MB and each {…} of it is another 16 MB array: memory, not a crash
-- message: memory

local keep = {}
for i = 1, 4 do
  keep[i] = { table.unpack({}, 1, 999000) }
end
return #keep
