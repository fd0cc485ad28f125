-- expect: permission
-- why: Lua 5.4.4's luaV_concat keeps a stack pointer across the __concat call (fixed in 5.4.5): a metamethod whose allocations let the collector shrink the stack, or that grows it, leaves the VM writing to freed memory. Before the sandbox refused __concat this crashed the host with SIGSEGV within 100,000 iterations
-- message: __concat metamethods are not allowed

local mt = {}
mt.__concat = function(a, b) return setmetatable({}, mt) end
for i = 1, 200000 do pcall(function() return "a" .. setmetatable({}, mt) .. "b" end) end
return "survived"
