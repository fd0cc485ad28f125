-- supply-odoo: a mapping plugin. What the supplier portal reports becomes what Odoo holds, through the `odoo`
-- connector's operations (plugins/odoo/README.md):
--
--   supplier.acknowledged → update the purchase.order (found by its name: a person made it in Odoo) —
--                           x_supplier_status acknowledged, partner_ref and x_supplier_order_ref = the supplier's
--                           order id, date_planned = the promised date — and a note in its chatter saying so
--   goods.received        → upsert an incoming stock.picking (conflux.receipt_<delivery id>) for the order, from
--                           Partners/Vendors to the site's stock location, one move per SKU with what arrived, and
--                           validate it (action button_validate: stock arrives, the order's lines are received);
--                           then the order's x_supplier_status: delivered, or partial while less arrived than the
--                           supplier confirmed
--   stock.counted         → one `verify` per counted SKU: Odoo's on-hand (stock.quant at the site) against the
--                           portal's count — the nightly stock-balance reconciliation. Drift becomes a to-do on the
--                           product; nothing is corrected.
--
-- The plugin's ledger keeps, per order ("order/<name>"), what the supplier confirmed, what each delivery brought and
-- the furthest status written, so partial deliveries add up, a redelivered event counts once, and a late
-- acknowledgement does not pull a delivered order back to "acknowledged". An order whose acknowledgement was never
-- seen is "delivered" at its first delivery (there is nothing to compare with).
local json = require("json")
local ledger = require("ledger")
local time = require("time")

local M = { kind = "mapping" }

M.SUPPLIER_REF = "MEDSUPPLY"
M.PLANNED_TIME = "12:00:00"   -- a promised date as Odoo's datetime (UTC noon: that calendar day across the US)

function M._ledger_get(key) return ledger.get(key) end
function M._ledger_put(key, value) return ledger.put(key, value) end

local RANK = { acknowledged = 1, partial = 2, delivered = 3 }
local STATUS = { "acknowledged", "partial", "delivered" }

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

local function number_at(value, path)
  if type(value) ~= "number" or value < 0 then fail(("%s: expected a number of at least 0, got %s"):format(path, describe_value(value))) end
  return value
end

local function array_at(value, path)
  if type(value) ~= "table" or value == json.null or (next(value) ~= nil and #value == 0) then
    fail(("%s: expected an array, got %s"):format(path, describe_value(value)))
  end
  return value
end

-- An id as it can stand in an external id's name.
local function key_part(value) return (value:gsub("[^%w_.%-]", "-")) end

local function product(sku) return { lookup = { model = "product.product", domain = { { "default_code", "=", sku } } } } end
local function order_record(name) return { lookup = { model = "purchase.order", domain = { { "name", "=", name } } } } end
local function site_location(site)
  return { lookup = { model = "stock.location", domain = { { "x_site", "=", site }, { "usage", "=", "internal" } } } }
end
local VENDORS = { lookup = { model = "stock.location", domain = { { "usage", "=", "supplier" } } } }

local function supplier_ref(ctx)
  local config = type(ctx) == "table" and is_object(ctx.config) and ctx.config or {}
  return type(config.supplier) == "string" and config.supplier ~= "" and config.supplier or M.SUPPLIER_REF
end

local function number_text(n) return math.tointeger(n) and tostring(math.tointeger(n)) or tostring(n) end

local function order_state(name)
  local state = M._ledger_get("order/" .. name)
  if not is_object(state) then state = {} end
  state.deliveries = is_object(state.deliveries) and state.deliveries or {}
  return state
end

local function save_order_state(name, state)
  M._ledger_put("order/" .. name, { rank = state.rank, confirmed = state.confirmed and json.object(state.confirmed) or nil,
                                    deliveries = json.object(state.deliveries) })
end

-- ---------------------------------------------------------------------------------------------------------------

local function acknowledged(event, ctx)
  local order = event.order
  if not is_object(order) then fail("$.order: expected an object, got " .. describe_value(order)) end
  local name = string_at(order.name, "$.order.name")
  local supplier_order = string_at(order.supplier_order_id, "$.order.supplier_order_id")
  local promised = string_at(order.promised_date, "$.order.promised_date")
  if not promised:match("^%d%d%d%d%-%d%d%-%d%d$") then fail(("$.order.promised_date: %q is not a date YYYY-MM-DD"):format(promised)) end
  local confirmed, parts, short = {}, {}, {}
  for i, line in ipairs(array_at(order.lines, "$.order.lines")) do
    local path = ("$.order.lines[%d]"):format(i)
    if not is_object(line) then fail(("%s: expected an object, got %s"):format(path, describe_value(line))) end
    local sku = string_at(line.sku, path .. ".sku")
    local quantity = number_at(line.quantity_confirmed, path .. ".quantity_confirmed")
    confirmed[sku] = quantity
    if quantity > 0 then parts[#parts + 1] = sku .. " " .. number_text(quantity) else short[#short + 1] = sku end
  end

  local state = order_state(name)
  state.confirmed = confirmed
  local values = { partner_ref = supplier_order, x_supplier_order_ref = supplier_order, date_planned = promised .. " " .. M.PLANNED_TIME }
  -- Written again on a redelivery (a retry after the connector failed re-maps the event); left out only once the
  -- order is further along.
  if (state.rank or 0) <= RANK.acknowledged then
    values.x_supplier_status = "acknowledged"
    state.rank = RANK.acknowledged
  end
  save_order_state(name, state)

  local body = ("Supplier %s acknowledged %s as %s: delivery promised for %s. Confirmed: %s."):format(supplier_ref(ctx), name,
    supplier_order, promised, #parts > 0 and table.concat(parts, ", ") or "nothing")
  if #short > 0 then body = body .. " Not confirmed: " .. table.concat(short, ", ") .. "." end
  return { operations = {
    { op = "update", model = "purchase.order", key = "conflux.purchase_" .. key_part(name), record = order_record(name), values = values },
    { op = "note", model = "purchase.order", record = order_record(name), body = body,
      key = ("conflux.supplier_ack_%s_%s_%s"):format(key_part(name), key_part(supplier_order), (promised:gsub("%-", ""))) },
  } }
end

local function received(event, ctx)
  local delivery = event.delivery
  if not is_object(delivery) then fail("$.delivery: expected an object, got " .. describe_value(delivery)) end
  local id = string_at(delivery.id, "$.delivery.id")
  local name = string_at(delivery.order, "$.delivery.order")
  local site = string_at(delivery.site, "$.delivery.site")
  local at = string_at(delivery.delivered_at, "$.delivery.delivered_at")
  local seconds = time.parse_iso8601(at)
  if not seconds or not at:find("T", 1, true) then fail(("$.delivery.delivered_at: %q is not an ISO 8601 date-time"):format(at)) end

  local arrived, moves = {}, {}
  for i, line in ipairs(array_at(delivery.lines, "$.delivery.lines")) do
    local path = ("$.delivery.lines[%d]"):format(i)
    if not is_object(line) then fail(("%s: expected an object, got %s"):format(path, describe_value(line))) end
    local sku = string_at(line.sku, path .. ".sku")
    local quantity = number_at(line.quantity_delivered, path .. ".quantity_delivered")
    arrived[sku] = (arrived[sku] or 0) + quantity
    if quantity > 0 then
      moves[#moves + 1] = { product_id = product(sku), name = sku, product_uom_qty = quantity, quantity = quantity,
                            location_id = VENDORS, location_dest_id = site_location(site) }
    end
  end

  -- Cumulative per order; a redelivered event replaces its own entry, so it counts once.
  local state = order_state(name)
  state.deliveries[id] = json.object(arrived)
  local status = "delivered"
  if is_object(state.confirmed) then
    local total = {}
    for _, lines in pairs(state.deliveries) do
      for sku, quantity in pairs(lines) do total[sku] = (total[sku] or 0) + quantity end
    end
    for sku, quantity in pairs(state.confirmed) do
      if (total[sku] or 0) < quantity then status = "partial" end
    end
  end
  if (state.rank or 0) > RANK[status] then status = STATUS[state.rank] end   -- never back (a late, larger acknowledgement)
  state.rank = RANK[status]
  save_order_state(name, state)

  local operations = {}
  if #moves > 0 then
    operations[1] = {
      op = "upsert", model = "stock.picking", key = "conflux.receipt_" .. key_part(id),
      values = {
        picking_type_code = "incoming",
        partner_id = { lookup = { model = "res.partner", domain = { { "ref", "=", supplier_ref(ctx) } } } },
        purchase_id = order_record(name),
        origin = name,
        scheduled_date = os.date("!%Y-%m-%d %H:%M:%S", math.floor(seconds)),
        location_id = VENDORS,
        location_dest_id = site_location(site),
        move_ids = { lines = json.array(moves) },
      },
      action = "button_validate",
    }
  end
  operations[#operations + 1] = { op = "update", model = "purchase.order", key = "conflux.purchase_" .. key_part(name),
                                  record = order_record(name), values = { x_supplier_status = status } }
  return { operations = operations }
end

local function counted(event, ctx)
  local site = string_at(event.site, "$.site")
  local counted_at = string_at(event.counted_at, "$.counted_at")
  local stamp = counted_at:gsub("[^%w]", "")
  local config = type(ctx) == "table" and is_object(ctx.config) and ctx.config or {}
  local tolerance = type(config.tolerance) == "number" and config.tolerance or 0
  local operations = {}
  for i, item in ipairs(array_at(event.items, "$.items")) do
    local path = ("$.items[%d]"):format(i)
    if not is_object(item) then fail(("%s: expected an object, got %s"):format(path, describe_value(item))) end
    local sku = string_at(item.sku, path .. ".sku")
    local quantity = number_at(item.quantity, path .. ".quantity")
    operations[i] = {
      op = "verify", key = ("conflux.stockcount_%s_%s_%s"):format(key_part(site), key_part(sku), stamp),
      model = "stock.quant",
      domain = { { "product_id", "=", product(sku) }, { "location_id", "=", site_location(site) } },
      field = "quantity", expected = quantity, tolerance = tolerance,
      subject = { model = "product.product", record = product(sku) },
      summary = ("Stock count differs: %s at %s"):format(sku, site),
      note = ("The supplier portal counted %s at %s on %s."):format(sku, site, counted_at),
    }
  end
  if #operations == 0 then return { skip = ("stock count of %s at %s lists no items"):format(site, counted_at) } end
  return { operations = operations }
end

local HANDLERS = { ["supplier.acknowledged"] = acknowledged, ["goods.received"] = received, ["stock.counted"] = counted }

function M.map(event, ctx)
  if not is_object(event) then fail("$: expected an event object, got " .. describe_value(event)) end
  local handler = HANDLERS[event.type]
  if not handler then
    fail("$.type: expected supplier.acknowledged, goods.received or stock.counted, got " .. describe_value(event.type))
  end
  return handler(event, ctx)
end

return M
