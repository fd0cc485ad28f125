-- expect: permission
-- why: dofile runs arbitrary files from disk
-- message: dofile

return dofile("/etc/hostname")
