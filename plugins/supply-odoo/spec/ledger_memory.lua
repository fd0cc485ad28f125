-- The host's ledger, in memory, for specs (plugin tests have no store): put/get/scan with the host's semantics —
-- values go through JSON, scan is in key order after `after`, at most `limit`.
local json = require("json")

return function(plugin)
  local store = {}
  plugin._ledger_get = function(key)
    if store[key] == nil then return nil end
    return json.decode(store[key])
  end
  plugin._ledger_put = function(key, value)
    assert(type(key) == "string" and key ~= "" and #key <= 512, "ledger key")
    store[key] = json.encode(value)
    return true
  end
  plugin._ledger_scan = function(prefix, after, limit)
    local keys = {}
    for key in pairs(store) do
      if key:sub(1, #prefix) == prefix and (after == nil or key > after) then keys[#keys + 1] = key end
    end
    table.sort(keys)
    local page = {}
    for i = 1, math.min(limit or 100, #keys) do page[i] = { key = keys[i], value = json.decode(store[keys[i]]) } end
    return json.array(page)
  end
  return store
end
