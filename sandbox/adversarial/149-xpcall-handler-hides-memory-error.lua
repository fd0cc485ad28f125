-- expect: memory
-- why: an xpcall message handler that rewrites "not enough memory" into something else must not hide the exhaustion from the sandbox
-- message: memory

local ok, err = xpcall(function()
  local t = {}
  for i = 1, 100 do t[i] = string.rep("x", 1 << 20) .. i end
end, function(msg) return "all is well" end)
return { ok, err }
