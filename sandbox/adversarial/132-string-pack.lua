-- expect: permission
-- why: string.pack/unpack are withheld
-- message: string.pack

return string.pack("i4", 7)
