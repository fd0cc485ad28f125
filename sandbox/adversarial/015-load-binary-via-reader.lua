-- expect: permission
-- why: load with a reader function delivering the bytecode header one byte at a time (defeats a first-byte check on strings); mode 't' must still refuse it
-- message: binary

local chunk = "\27Lua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08" .. ("\x00"):rep(32)
local i = 0
local fn, err = load(function()
  i = i + 1
  if i <= #chunk then return chunk:sub(i, i) end
  return nil
end, "=evil")
if fn then return "LOADED BINARY" end
return err
