-- expect: permission
-- why: Lua 5.4.4 bug "'break' may not properly close variable in a 'for' loop" (fixed in 5.4.6), together with "lua_settop may use a pointer invalidated by luaF_close": a generic for whose 4th value is to-be-closed, left by break with an upvalue captured, then a <close> local, crashed the host with SIGSEGV 5 runs in 5. setmetatable refuses __close, so no value can be to-be-closed
-- message: __close metamethods are not allowed

local mt = { __close = function(o) end }
local function test()
  for k, v in next, {}, nil, setmetatable({}, mt) do
    local function f() return k end
    break
  end
  local x <close> = setmetatable({}, mt)
end
test()
return "survived"
