-- expect: ok
-- why: numbers, nil, booleans, functions, threads and json.null have no reachable metatable (no debug.setmetatable to add one)
-- result: "none"

local json = require("json")
local probes = { 1, 2.5, true, print, coroutine.create(print), json.null }
for i = 1, #probes do
  if getmetatable(probes[i]) ~= nil then return "metatable at " .. i end
end
if getmetatable(nil) ~= nil then return "nil has a metatable" end
return "none"
