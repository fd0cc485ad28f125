-- expect: stack
-- why: each coroutine creates and resumes the next: nesting depth is bounded by Lua's C-call limit (per-coroutine depth checks cannot see it)

local function nest()
  local co = coroutine.create(nest)
  local ok, err = coroutine.resume(co)
  if not ok then error(err, 0) end
end
nest()
return "survived"
