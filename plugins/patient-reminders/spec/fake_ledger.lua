-- An in-memory ledger for specs (plugin tests have no store): values go through JSON both ways, as in the host, so a
-- value the store could not keep fails here too.
local json = require("json")

local Fake = {}

function Fake.install(plugin)
  local store = { entries = {}, writes = 0 }
  function store.get(key) local v = store.entries[key]; return v and json.decode(v) or nil end
  plugin._ledger_get = store.get
  plugin._ledger_put = function(key, value)
    assert(type(key) == "string" and #key > 0 and #key <= 512, "ledger key")
    store.entries[key] = json.encode(value)
    store.writes = store.writes + 1
    return true
  end
  plugin._ledger_scan = function(prefix, after, limit)
    local keys = {}
    for key in pairs(store.entries) do
      if key:sub(1, #prefix) == prefix and (after == nil or key > after) then keys[#keys + 1] = key end
    end
    table.sort(keys)
    local page = {}
    for i = 1, math.min(#keys, limit or 100) do page[i] = { key = keys[i], value = json.decode(store.entries[keys[i]]) } end
    return page
  end
  return store
end

return Fake
