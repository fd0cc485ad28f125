-- expect: memory
-- why: s = s .. s doubles a string; '..' is not a size-checked function, only the allocator can stop it
-- message: memory

local s = "x"
while true do s = s .. s end
