-- expect: permission
-- why: a fault raised while xpcall's message handler is active: the hook re-raises from inside the hook (allowhook = 0), Lua calls the handler again with hooks disabled, and a looping handler can never be stopped. The sandbox's xpcall must not run plugin handlers once a fault is recorded

return xpcall(function() return io end, function(err)
  while true do end
end)
