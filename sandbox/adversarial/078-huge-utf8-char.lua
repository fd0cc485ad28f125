-- expect: memory
-- why: utf8.char with 500k arguments of 6-byte code points builds 3 MB strings (not size-checked like string.rep); keeping them must hit the memory cap
-- message: memory

local cps = {}
for i = 1, 500000 do cps[i] = 0x7FFFFFFF end
local out = {}
for i = 1, 20 do out[i] = utf8.char(table.unpack(cps)) end
return #out
