-- expect: cpu
-- why: compiling 2 MiB of source takes ~0.1 s of unhooked parser time; compiling it in a loop must be stopped by the clock at the next charge
-- message: budget

local src = ("x=1;"):rep(512 * 1024)
while true do
  local fn = load(src)
end
