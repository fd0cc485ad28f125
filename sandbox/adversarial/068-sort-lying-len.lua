-- expect: limit
-- why: table.sort of a table whose __len claims 2^31-2 elements with a Lua comparator: the comparator calls are hooked
-- message: __len

local t = setmetatable({}, {
  __len = function() return 2^31 - 2 end,
  __index = function(_, i) return i end,
  __newindex = function() end,   -- discard writes, so the table never grows (memory would end it first)
})
table.sort(t, function(a, b) return a > b end)
return "sorted"
