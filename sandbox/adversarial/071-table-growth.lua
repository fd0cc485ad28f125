-- expect: memory
-- why: unbounded table growth must hit the 32 MiB allocator cap before the instruction budget
-- message: memory

local t, i = {}, 0
while true do
  i = i + 1
  t[i] = { i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i }
end
