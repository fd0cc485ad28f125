-- expect: stack
-- why: CVE-2022-33099 trigger (C stack overflow while handling an error; patched in Debian's 5.4.4-3): must end as stack, not a crash

local function loop()
  assert(pcall(loop))
end
local ok, err = xpcall(loop, loop)
return "survived"
