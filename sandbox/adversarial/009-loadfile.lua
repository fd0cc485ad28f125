-- expect: permission
-- why: loadfile reads arbitrary files (and binary chunks) from disk
-- message: loadfile

return loadfile("/etc/passwd")
