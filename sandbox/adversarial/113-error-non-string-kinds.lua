-- expect: runtime
-- why: error objects that are numbers/booleans/functions/coroutines; the last one raised reaches the host

for _, obj in ipairs({ 42, true, print }) do
  local ok, got = pcall(error, obj)
  assert(not ok and got == obj)
end
error(coroutine.create(print))
