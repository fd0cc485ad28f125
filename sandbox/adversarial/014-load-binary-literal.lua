-- expect: permission
-- why: a hand-built precompiled chunk (ESC 'Lua' 0x54 header, CVE-2015-4335 style) must be refused, not executed
-- message: binary

local header = "\27Lua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08\x78\x56\0\0\0\0\0\0\0\0\0\0\0\0\0\x28\x77\x40"
local body = ("\x00"):rep(64)
local fn, err = load(header .. body, "=evil")
if fn then return "LOADED BINARY" end
return err
