-- expect: permission
-- why: setmetatable refuses __close (Lua 5.4.4 mishandles to-be-closed values: see 153); this script was the threat before: error inside pcall; the unwinding __close loops forever: pcall must not return
-- message: __close metamethods are not allowed

local ok = pcall(function()
  local guard <close> = setmetatable({}, { __close = function() while true do end end })
  error("leave")
end)
return ok
