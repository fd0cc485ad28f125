-- purchase-supplier: a mapping plugin. A purchase order confirmed in Odoo (`purchase.confirmed`, from the odoo
-- connector's poll) becomes the supplier-portal connector's `send_order` operation:
--
--   { op = "send_order", order = { order_ref = <Odoo order name>, buyer = config.buyer, site,
--                                  ship_to = config.ship_to[site], requested_date = order.date_planned?,
--                                  lines = { { sku, quantity, unit_price }, … } } }
--
-- Only orders to the portal's supplier (config.supplier, the res.partner ref) go to the portal; any other supplier's
-- order is a skip, so it is neither sent nor failed. The buyer account and the sites' delivery addresses are the
-- catalog entry's config (they differ between the portal's test and production accounts).
local json = require("json")

local M = { kind = "mapping" }

local function fail(message) error(message, 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function is_object(value) return type(value) == "table" and value ~= json.null and not json.is_array(value) end

local function string_at(value, path)
  if type(value) ~= "string" or value == "" then fail(("%s: expected a non-empty string, got %s"):format(path, describe_value(value))) end
  return value
end

local function config_of(ctx)
  local config = type(ctx) == "table" and ctx.config or nil
  if not is_object(config) then fail("ctx.config: missing; the catalog entry's config: block must give supplier, buyer and ship_to") end
  string_at(config.supplier, "ctx.config.supplier")
  string_at(config.buyer, "ctx.config.buyer")
  if not is_object(config.ship_to) then fail("ctx.config.ship_to: expected an object of site → delivery address") end
  return config
end

function M.map(event, ctx)
  if not is_object(event) then fail("$: expected a purchase.confirmed event, got " .. describe_value(event)) end
  if event.type ~= "purchase.confirmed" then fail("$.type: expected purchase.confirmed, got " .. describe_value(event.type)) end
  local order = event.order
  if not is_object(order) then fail("$.order: expected an object, got " .. describe_value(order)) end
  local name = string_at(order.name, "$.order.name")
  local supplier = string_at(order.supplier, "$.order.supplier")
  local config = config_of(ctx)
  if supplier ~= config.supplier then
    return { skip = ("order %s is for supplier %s; the portal takes %s's orders"):format(name, supplier, config.supplier) }
  end
  local site = string_at(order.site, "$.order.site")
  local ship_to = config.ship_to[site]
  if type(ship_to) ~= "string" or ship_to == "" then
    fail(("$.order.site: no delivery address for site %q in the catalog entry's config.ship_to"):format(site))
  end
  local lines = order.lines
  if type(lines) ~= "table" or lines == json.null or #lines == 0 then
    fail("$.order.lines: expected a non-empty array of lines, got " .. describe_value(lines))
  end
  local out = {}
  for i, line in ipairs(lines) do
    local path = ("$.order.lines[%d]"):format(i)
    if not is_object(line) then fail(("%s: expected an object, got %s"):format(path, describe_value(line))) end
    if type(line.quantity) ~= "number" or line.quantity <= 0 then
      fail(("%s.quantity: expected a positive number, got %s"):format(path, describe_value(line.quantity)))
    end
    if type(line.unit_price) ~= "number" or line.unit_price < 0 then
      fail(("%s.unit_price: expected a non-negative number, got %s"):format(path, describe_value(line.unit_price)))
    end
    out[i] = { sku = string_at(line.sku, path .. ".sku"), quantity = line.quantity, unit_price = line.unit_price }
  end
  local requested
  if order.date_planned ~= nil and order.date_planned ~= json.null then
    requested = string_at(order.date_planned, "$.order.date_planned")
    if not requested:match("^%d%d%d%d%-%d%d%-%d%d$") then fail(("$.order.date_planned: %q is not a date YYYY-MM-DD"):format(requested)) end
  end
  return {
    op = "send_order",
    order = { order_ref = name, buyer = config.buyer, site = site, ship_to = ship_to, requested_date = requested,
              lines = json.array(out) },
  }
end

return M
