-- Baseline for `conflux bench map`: bare lua5.4 with lua-cjson doing decode + the same map + encode in a loop.
-- usage: lua5.4 bench/cjson_baseline.lua MAP.lua INPUT.json [SECONDS]
local cjson = require("cjson")
local map_file, input_file, seconds = arg[1], arg[2], tonumber(arg[3] or "5")
local plugin = dofile(map_file)
local f = assert(io.open(input_file, "rb"))
local input = f:read("a")
f:close()
local ctx_text = '{"plugin":"bench"}'

for _ = 1, 200 do cjson.encode(plugin.map(cjson.decode(input), cjson.decode(ctx_text))) end

local clock = os.clock
local start = clock()
local deadline = start + seconds
local n = 0
local now = start
while now < deadline do
  for _ = 1, 100 do
    local out = cjson.encode(plugin.map(cjson.decode(input), cjson.decode(ctx_text)))
    n = n + 1
  end
  now = clock()
end
print(string.format("lua5.4 + lua-cjson: %d messages in %.2f s", n, now - start))
print(string.format("throughput: %d msgs/s", math.floor(n / (now - start))))
