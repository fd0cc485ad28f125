-- expect: cpu
-- why: the message handler of xpcall runs Lua code under the hook; an endless handler must still be stopped
-- message: budget

return xpcall(function() error("boom") end, function(msg)
  while true do end
end)
