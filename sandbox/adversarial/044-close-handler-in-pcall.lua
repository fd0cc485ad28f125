-- expect: cpu
-- why: error inside pcall; the unwinding __close loops forever: pcall must not return
-- message: budget

local ok = pcall(function()
  local guard <close> = setmetatable({}, { __close = function() while true do end end })
  error("leave")
end)
return ok
