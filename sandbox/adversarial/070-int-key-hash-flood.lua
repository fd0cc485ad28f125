-- expect: cpu
-- why: Lua's integer-key hash is unseeded (key mod (2^k - 1)): 2^18 keys that are all multiples of 2^18 - 1 collide in one chain, so the single table store that triggers the final rehash re-inserts 131072 colliding keys in O(n^2) inside one VM instruction (stock 5.4.4: 8.4 s at 2^17 keys / 3 MB, ~34 s at 2^18 / 6 MB). No hook can interrupt it; containment needs a watchdog that can kill the worker (or a patched VM)
-- message: budget

local K = 18
local n = 1 << K
local m = n - 1
local t = {}
for j = 1, n do t[j * m] = true end
return "built"
