-- expect: cpu
-- why: a __close metamethod with an endless loop runs as ordinary Lua under the hook (unlike __gc)
-- message: budget

do
  local guard <close> = setmetatable({}, { __close = function() while true do end end })
end
return "unreachable"
