-- supply-demand: a mapping plugin. Booked appointments become a purchase suggestion: for each site and procedure day,
-- ONE draft purchase order (an RFQ) to the supplier with the consumables that day's appointments will use.
--
--   appointment.booked / rescheduled / modified / completed → the appointment uses its service's bill of materials
--   appointment.cancelled / no_show                         → it uses nothing
--
-- Bill of materials: values/bom.json, service code → { sku → units per procedure }; pack sizes, names and the
-- contracted pack prices: values/supplies.json (both data, reviewed with the plugin). A day's units per SKU are summed
-- over its appointments and rounded UP to whole packs.
--
-- Out of order, at least once: the plugin's ledger keeps each appointment's newest applied state
-- ("appt/<id>" → { at, occurred_at, type, site, day, units }) and its contribution to its day
-- ("day/<site>/<day>/<id>" → { units }). An event older than the one applied (two reschedules crossing, a booking
-- arriving after its cancellation) changes nothing, and the newest known state is emitted again. Units are kept in
-- thousandths (integers), so 0.1 of a vial ten times is exactly one vial.
--
-- Operation, for the `odoo` connector (plugins/odoo/README.md): an upsert of purchase.order keyed
-- conflux.supply_<site>_<YYYYMMDD>; the connector rewrites it while it is a draft and leaves it alone once a buyer
-- confirmed it in Odoo. A reschedule to another day re-emits both days ({ operations = { … } }). A day whose demand
-- falls to nothing keeps its draft order with no lines (once one was emitted); a day never emitted emits nothing.
--
-- Lenient on purpose: this mapping runs next to the calendar on the same appointment message, and a failure fails the
-- whole message. An appointment without a site, or with a service code the bill of materials does not know, uses
-- nothing (logged); only an event that is not an appointment event at all is refused.
local json = require("json")
local fixtures = require("fixtures")
local ledger = require("ledger")
local log = require("log")
local time = require("time")

local M = { kind = "mapping" }

M.BOM = "values/bom.json"
M.SUPPLIES = "values/supplies.json"
M.SUPPLIER_REF = "MEDSUPPLY"
M.PLANNED_TIME = "12:00:00"   -- UTC: the day before, at noon, is still that calendar day in every US time zone

-- The store, replaceable in specs (plugin tests have no ledger).
function M._ledger_get(key) return ledger.get(key) end
function M._ledger_put(key, value) return ledger.put(key, value) end
function M._ledger_scan(prefix, after, limit) return ledger.scan(prefix, after, limit) end

local USES = { ["appointment.booked"] = true, ["appointment.rescheduled"] = true, ["appointment.modified"] = true,
               ["appointment.completed"] = true }
local RELEASES = { ["appointment.cancelled"] = true, ["appointment.no_show"] = true }

local function fail(message) error(message, 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function is_object(value) return type(value) == "table" and value ~= json.null and not json.is_array(value) end

local function text(value)
  if type(value) == "string" and value ~= "" then return value end
  return nil
end

-- ---------------------------------------------------------------------------------------------------------------
-- The value maps

local function read_json(path)
  local ok, body = pcall(fixtures.read, path)
  if not ok then fail(("%s: cannot read it: %s"):format(path, tostring(body))) end
  local decoded_ok, value = pcall(json.decode, body)
  if not decoded_ok then fail(("%s: not valid JSON: %s"):format(path, tostring(value))) end
  if not is_object(value) then fail(path .. ": expected an object") end
  return value
end

-- Both maps, checked against each other: every SKU a bill of materials names has a pack size.
function M._load(bom_path, supplies_path)
  local bom, supplies = read_json(bom_path), read_json(supplies_path)
  for sku, entry in pairs(supplies) do
    local where = ("%s: $[%q]"):format(supplies_path, sku)
    if not is_object(entry) then fail(where .. ": expected an object {description, unit, pack, pack_name, price}") end
    if type(entry.pack) ~= "number" or entry.pack <= 0 then fail(where .. ".pack: expected a positive number of units per pack") end
    if type(entry.price) ~= "number" or entry.price < 0 then fail(where .. ".price: expected the price of a pack") end
    if not text(entry.description) then fail(where .. ".description: expected a non-empty string") end
  end
  for code, entry in pairs(bom) do
    local where = ("%s: $[%q]"):format(bom_path, code)
    if not is_object(entry) or not is_object(entry.items) then fail(where .. ".items: expected an object of SKU → units") end
    for sku, units in pairs(entry.items) do
      if type(units) ~= "number" or units <= 0 then fail(("%s.items[%q]: expected a positive number of units"):format(where, sku)) end
      if not supplies[sku] then fail(("%s.items[%q]: the SKU has no pack size in %s"):format(where, sku, supplies_path)) end
    end
  end
  return { bom = bom, supplies = supplies }
end

local maps
function M._maps()
  maps = maps or M._load(M.BOM, M.SUPPLIES)
  return maps
end

-- ---------------------------------------------------------------------------------------------------------------
-- Dates

local function civil_to_days(y, m, d)   -- days since 1970-01-01 (Howard Hinnant's algorithm)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function day_before(day)
  local y, m, d = day:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  return os.date("!%Y-%m-%d", (civil_to_days(tonumber(y), tonumber(m), tonumber(d)) - 1) * 86400)
end

-- occurred_at as seconds, to order one appointment's events. A time without a zone is read as UTC (the host's parser
-- would read it as midnight), so events of one feed still compare in order.
local function instant(value, path)
  if not text(value) then fail(("%s: expected an ISO 8601 date-time, got %s"):format(path, describe_value(value))) end
  local probe = value
  if probe:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%.%d]*$") then probe = probe .. "Z" end
  local seconds, reason = time.parse_iso8601(probe)
  if not seconds or not probe:find("T", 1, true) then
    fail(("%s: %q is not an ISO 8601 date-time (%s)"):format(path, value, tostring(reason or "no time of day")))
  end
  return seconds
end

-- ---------------------------------------------------------------------------------------------------------------
-- Demand

-- What the appointment uses, in thousandths of a unit per SKU, and where; nil site/day when it cannot be placed.
local function contribution(event, appointment)
  local site, day = text(appointment.site), nil
  local start = text(appointment.start)
  if start then day = start:match("^(%d%d%d%d%-%d%d%-%d%d)T") end
  local units = {}
  if RELEASES[event.type] then return site, day, units end
  if not site or not day then
    log.warn("appointment cannot be placed for supply (no site or start): it uses nothing", { appointment = appointment.id })
    return site, day, units
  end
  local code = is_object(appointment.service) and text(appointment.service.code) or nil
  local entry = code and M._maps().bom[code]
  if not entry then
    log.warn("service has no bill of materials: the appointment uses nothing", { appointment = appointment.id, service = code or "none" })
    return site, day, units
  end
  for sku, amount in pairs(entry.items) do units[sku] = math.floor(amount * 1000 + 0.5) end
  return site, day, units
end

-- The site as it can stand in an external id (letters, digits, _ . -).
local function key_site(site) return (site:lower():gsub("[^%w_.%-]", "-")) end

local function day_prefix(site, day) return ("day/%s/%s/"):format(key_site(site), day) end

-- All of a day's contributions, summed per SKU (thousandths).
local function day_units(site, day)
  local totals, after = {}, nil
  repeat
    local page = M._ledger_scan(day_prefix(site, day), after, 1000)
    for _, entry in ipairs(page) do
      for sku, amount in pairs(is_object(entry.value) and entry.value.units or {}) do
        totals[sku] = (totals[sku] or 0) + amount
      end
      after = entry.key
    end
  until #page < 1000
  return totals
end

local function purchase_order(site, day)
  local supplies = M._maps().supplies
  local totals, skus = day_units(site, day), {}
  for sku, amount in pairs(totals) do if amount > 0 then skus[#skus + 1] = sku end end
  table.sort(skus)
  local emitted_key = "emitted/" .. key_site(site) .. "/" .. day
  if #skus == 0 and not M._ledger_get(emitted_key) then return nil end
  local lines = {}
  for i, sku in ipairs(skus) do
    local supply = supplies[sku]
    local per_pack = math.floor(supply.pack * 1000 + 0.5)
    lines[i] = {
      product_id = { lookup = { model = "product.product", domain = { { "default_code", "=", sku } } } },
      name = ("%s %s (%s)"):format(sku, supply.description, supply.pack_name or "pack"),
      product_qty = (totals[sku] + per_pack - 1) // per_pack,
      price_unit = supply.price,
    }
  end
  M._ledger_put(emitted_key, { emitted = true })
  local origin = ("Conflux demand %s %s"):format(site, day)
  return {
    op = "upsert",
    model = "purchase.order",
    key = ("conflux.supply_%s_%s"):format(key_site(site), (day:gsub("%-", ""))),
    match = { { "origin", "=", origin } },
    values = {
      partner_id = { lookup = { model = "res.partner", domain = { { "ref", "=", M.SUPPLIER_REF } } } },
      x_site = site,
      origin = origin,
      date_planned = day_before(day) .. " " .. M.PLANNED_TIME,
      order_line = { lines = json.array(lines) },
    },
  }
end

function M.map(event, ctx)
  if not is_object(event) then fail("$: expected an appointment event object, got " .. describe_value(event)) end
  if not USES[event.type] and not RELEASES[event.type] then
    fail(("$.type: expected an appointment event (booked, rescheduled, modified, completed, cancelled, no_show), got %s")
      :format(describe_value(event.type)))
  end
  local appointment = event.appointment
  if not is_object(appointment) then fail("$.appointment: expected an object, got " .. describe_value(appointment)) end
  local id = text(appointment.id)
  if not id then fail("$.appointment.id: expected a non-empty string, got " .. describe_value(appointment.id)) end
  local at = instant(event.occurred_at, "$.occurred_at")

  local previous = M._ledger_get("appt/" .. id)
  local days = {}
  if previous and previous.at > at then
    -- Older than what was applied: nothing changes; the newest known state goes out again.
    log.info("older appointment event ignored for supply", { appointment = id, type = event.type, applied = previous.type })
    if previous.site and previous.day then days[1] = { previous.site, previous.day } end
  else
    local site, day, units = contribution(event, appointment)
    if RELEASES[event.type] and previous then site, day = site or previous.site, day or previous.day end
    if previous and previous.site and previous.day and (previous.site ~= site or previous.day ~= day) then
      -- Moved (or no longer placeable): its old day loses it.
      M._ledger_put(day_prefix(previous.site, previous.day) .. id, { units = json.object({}) })
      days[#days + 1] = { previous.site, previous.day }
    end
    if site and day then
      M._ledger_put(day_prefix(site, day) .. id, { units = json.object(units) })
      days[#days + 1] = { site, day }
    end
    M._ledger_put("appt/" .. id, { at = at, occurred_at = event.occurred_at, type = event.type, site = site, day = day,
                                   units = json.object(units) })
  end

  local operations = {}
  for _, place in ipairs(days) do
    local op = purchase_order(place[1], place[2])
    if op then operations[#operations + 1] = op end
  end
  if #operations == 0 then return { skip = ("appointment %s: no supply demand to order"):format(id) } end
  if #operations == 1 then return operations[1] end
  return { operations = operations }
end

return M
