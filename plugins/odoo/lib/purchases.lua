-- The confirmed-purchases poll (the `odoo` connector's `poll` hook, run by a flow's schedule): purchase orders someone
-- confirmed in Odoo (state purchase) that have not gone to the supplier yet (x_supplier_status unset or none) become
-- `purchase.confirmed` events. Once the flow has sent an order, its x_supplier_status is `sent` and the next run no
-- longer sees it; until then every run emits it again, which is harmless: the supplier portal takes the order name as
-- its Idempotency-Key.
--
-- One order the supplier could not read (no lines, a product without an internal reference, a supplier without a
-- reference, no site) is left out with a warning rather than failing the run, so it cannot hold back the others.
local json = require("json")
local log = require("log")

local M = {}

-- A many2one as read (`[id, "name"]`, or false when empty) → the id or nil.
local function m2o(value)
  if type(value) == "table" then return value[1] end
  return nil
end

local function text(value)
  if type(value) == "string" and value ~= "" then return value end
  return nil
end

-- Odoo datetimes are "YYYY-MM-DD HH:MM:SS" in UTC.
local function iso(value)
  local date, clock = tostring(value):match("^(%d%d%d%d%-%d%d%-%d%d) (%d%d:%d%d:%d%d)$")
  if date then return date .. "T" .. clock .. "Z" end
  return nil
end

local function quantity(value)
  if type(value) ~= "number" then return nil end
  return math.tointeger(value) or value
end

-- name → field for the given ids, read in one call.
local function read_field(c, call, model, ids, field)
  local out = {}
  if #ids == 0 then return out end
  for _, row in ipairs(call(c, model, "read", { ids = ids, fields = { field } })) do out[row.id] = row[field] end
  return out
end

local function keys_of(set)
  local list = {}
  for id in pairs(set) do list[#list + 1] = id end
  table.sort(list)
  return list
end

-- `c`: the connector's settings (supplier_refs, poll_limit); `call(c, model, method, params)`; `input`: the scheduled
-- run ({flow, schedule, plugin, hook, due}), whose due time stands in for an order without a date.
function M.confirmed(c, call, input)
  local domain = { { "state", "=", "purchase" }, { "x_supplier_status", "in", { false, "none" } } }
  if c.supplier_refs then
    local partners = call(c, "res.partner", "search", { domain = { { "ref", "in", c.supplier_refs } } })
    if #partners == 0 then
      log.warn("no supplier in Odoo has one of the configured references", { supplier_refs = table.concat(c.supplier_refs, ",") })
      return json.array({})
    end
    domain[#domain + 1] = { "partner_id", "in", partners }
  end
  local orders = call(c, "purchase.order", "search_read", {
    domain = domain, fields = { "name", "partner_id", "partner_ref", "x_site", "date_order", "date_planned" },
    order = "id", limit = c.poll_limit })
  if #orders == 0 then return json.array({}) end

  local order_ids, partner_ids = {}, {}
  for i, order in ipairs(orders) do
    order_ids[i] = order.id
    if m2o(order.partner_id) then partner_ids[m2o(order.partner_id)] = true end
  end
  local lines = call(c, "purchase.order.line", "search_read", {
    domain = { { "order_id", "in", order_ids } }, fields = { "order_id", "product_id", "product_qty", "price_unit" }, order = "id" })
  local product_ids, lines_of = {}, {}
  for _, line in ipairs(lines) do
    local order = m2o(line.order_id)
    lines_of[order] = lines_of[order] or {}
    table.insert(lines_of[order], line)
    if m2o(line.product_id) then product_ids[m2o(line.product_id)] = true end
  end
  local skus = read_field(c, call, "product.product", keys_of(product_ids), "default_code")
  local refs = read_field(c, call, "res.partner", keys_of(partner_ids), "ref")

  local due = type(input) == "table" and text(input.due) or nil
  local events = {}
  for _, order in ipairs(orders) do
    local problem
    local supplier = refs[m2o(order.partner_id)]
    local items = {}
    for i, line in ipairs(lines_of[order.id] or {}) do
      local sku = text(skus[m2o(line.product_id)])
      if not sku then
        problem = ("line %d has no product with an internal reference (the supplier's SKU)"):format(i)
        break
      end
      items[i] = { sku = sku, quantity = quantity(line.product_qty), unit_price = quantity(line.price_unit) }
    end
    if not problem and #items == 0 then problem = "it has no lines" end
    if not problem and not text(supplier) then problem = "its supplier has no reference (res.partner ref)" end
    if not problem and not text(order.x_site) then problem = "it names no site (x_site)" end
    if problem then
      log.warn("confirmed purchase order left out: " .. problem, { order = order.name })
    else
      local planned = text(order.date_planned)
      events[#events + 1] = {
        type = "purchase.confirmed",
        idempotency_key = ("odoo:purchase.order:%s:confirmed"):format(order.name),
        occurred_at = iso(order.date_order) or due,
        order = {
          name = order.name, partner_ref = text(order.partner_ref), supplier = supplier, site = order.x_site,
          date_planned = planned and planned:sub(1, 10) or nil, lines = json.array(items),
        },
      }
    end
  end
  log.info("confirmed purchases polled", { found = #orders, events = #events })
  return json.array(events)
end

return M
