-- expect: ok
-- why: Lua 5.4.4 bug 'utf8.codes does not raise an error on spurious continuation bytes': silently accepts '\x80' -- harmless
-- result: "completed"

local ok = pcall(function()
  local n = 0
  for _, c in utf8.codes("a\x80b\xBF") do n = n + 1 end
  return n
end)
return "completed"
