-- expect: runtime
-- why: module names are [%w_.]: '..' and '/' must be refused before the file system is touched
-- message: invalid module name

local ok, err = pcall(require, "../../../../etc/passwd")
if ok then return "loaded" end
return require("..etc.passwd")
