-- expect: ok
-- why: a __concat added to a metatable after setmetatable is never seen: the table carries a private copy of the metamethods, so `..` fails as for any table, and the grown stack of the recursion below (the 5.4.4 trigger) is never reached from a metamethod
-- result: [false,true,true]

local mt = {}
local t = setmetatable({}, mt)
local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
mt.__concat = function(a, b) deep(150); return "x" end
rawset(mt, "__concat", mt.__concat)
local ok, err = pcall(function() return "a" .. t end)
return { ok, err:find("attempt to concatenate a table value", 1, true) ~= nil, getmetatable(t) == mt }
