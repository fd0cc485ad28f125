-- expect: stack
-- why: __index recursion overflows the C stack (nCcalls 200) in ~600 instructions, before the every-1000-instructions depth probe; Lua's 'C stack overflow' is caught by pcall. Brief: stack faults are uncatchable

local t = setmetatable({}, { __index = function(self, k) return self[k] end })
local ok, err = pcall(function() return t.x end)
return "survived"
