-- expect: runtime
-- why: an error object whose __index/__name lookups would loop: the host must use raw access when describing it

error(setmetatable({}, {
  __index = function() while true do end end,
  __name = setmetatable({}, { __index = function() while true do end end }),
}))
