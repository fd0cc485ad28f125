-- expect: limit
-- why: Lua bug 'Recursion in getobjname can stack overflow' (reported 5.4.6, fixed 5.4.7, present in 5.4.4): the error message for calling a.x.x...x (100k fields) recurses once per field in C, each step rescanning the code (O(n^2)): stock 5.4.4 burns ~20 s of unhookable CPU then SIGSEGVs (10k fields already crash a 512 KiB thread stack). The host must refuse such chains before compiling (kind 'limit' assumed) or link a fixed Lua

local N = 100000
local a = {}
a.x = a
local src = "local a = ... return a" .. string.rep(".x", N) .. "()"
local fn, err = load(src, "=chain")
if not fn then return "refused: " .. tostring(err) end
return fn(a)
