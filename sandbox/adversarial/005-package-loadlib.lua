-- expect: permission
-- why: CVE-2022-0543 pattern: package.loadlib(liblua, 'luaopen_io') loads C code from disk; package must be withheld
-- message: 'package' is not available

local open_io = package.loadlib("/usr/lib/x86_64-linux-gnu/liblua5.4.so.0", "luaopen_io")
return open_io().popen("id"):read("a")
