-- expect: ok
-- why: control: the metatable copy keeps classes working — getmetatable returns the plugin's table, methods added after objects exist are found through __index, other metamethods and __metatable work
-- result: ["hi",true,"P(1,2)",3,"locked"]

local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({ x = x, y = y }, Point) end
Point.__tostring = function(p) return "P(" .. p.x .. "," .. p.y .. ")" end
Point.__add = function(a, b) return a.x + b.y end
local p = Point.new(1, 2)
function Point:hello() return "hi" end
local locked = setmetatable({}, { __metatable = "locked" })
return { p:hello(), getmetatable(p) == Point, tostring(p), p + p, getmetatable(locked) }
