-- expect: permission
-- why: setmetatable refuses __close (Lua 5.4.4 mishandles to-be-closed values: see 153); this script was the threat before: a __close metamethod with an endless loop runs as ordinary Lua under the hook (unlike __gc)
-- message: __close metamethods are not allowed

do
  local guard <close> = setmetatable({}, { __close = function() while true do end end })
end
return "unreachable"
