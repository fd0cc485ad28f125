-- purchase-odoo-status: a mapping plugin. A purchase order confirmed in Odoo (`purchase.confirmed`) is marked sent to
-- the supplier once the portal has it: the odoo connector's `update` of purchase.order x_supplier_status = "sent".
--
-- The order was made by a person in Odoo, not by Conflux, so it has no conflux external id: the update targets it by
-- a lookup on its name. `key` (conflux.purchase_<name>) names the operation in logs and errors only.
-- The flow lists this route after the supplier-portal one, so "sent" is written only when the portal took the order;
-- the next confirmed-purchases poll then no longer sees it. Orders to other suppliers (config.supplier) are skipped,
-- like purchase-supplier skips them.
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

function M.map(event, ctx)
  if not is_object(event) then fail("$: expected a purchase.confirmed event, got " .. describe_value(event)) end
  if event.type ~= "purchase.confirmed" then fail("$.type: expected purchase.confirmed, got " .. describe_value(event.type)) end
  local order = event.order
  if not is_object(order) then fail("$.order: expected an object, got " .. describe_value(order)) end
  local name = string_at(order.name, "$.order.name")
  local supplier = string_at(order.supplier, "$.order.supplier")
  local config = type(ctx) == "table" and is_object(ctx.config) and ctx.config or {}
  local portal = string_at(config.supplier, "ctx.config.supplier")
  if supplier ~= portal then
    return { skip = ("order %s is for supplier %s, not sent to the portal: its status stays"):format(name, supplier) }
  end
  return {
    op = "update",
    model = "purchase.order",
    key = "conflux.purchase_" .. name:gsub("[^%w_.%-]", "-"),
    record = { lookup = { model = "purchase.order", domain = { { "name", "=", name } } } },
    values = { x_supplier_status = "sent" },
  }
end

return M
