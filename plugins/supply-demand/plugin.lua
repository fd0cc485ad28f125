-- supply-demand: a mapping plugin. Booked appointments become a purchase suggestion: for each site and procedure day,
-- ONE draft purchase order (an RFQ) to the supplier with the consumables that day's appointments will use.
--
--   appointment.booked / rescheduled / modified / completed → the appointment uses its service's bill of materials
--   appointment.cancelled / no_show                         → it uses nothing
--
-- Bill of materials: values/bom.json, service code → { sku → units per procedure }; pack sizes, names and the
-- contracted pack prices: values/supplies.json (both data, reviewed with the plugin). A day's units per SKU are summed
-- over its appointments and rounded UP to whole packs. Units are kept in thousandths (integers), so 0.1 of a vial ten
-- times is exactly one vial.
--
-- Why batched. Appointment events of DIFFERENT appointments are mapped concurrently (flows order only by appointment
-- id). When each one emitted the whole day's order, map A could read only A while map B read A+B, and A's delivery
-- landing last left Odoo with a stale total. So the work is split in three steps, and only one of them talks to Odoo:
--
--   1. map(appointment.*)         records the appointment's contribution and marks its site-day(s) dirty; returns
--                                 { skip = "demand recorded for <site> <day>; the demand-sync poll updates the suggestion" }
--   2. poll(run)                  (the flow's demand-sync schedule) returns one `supply.demand_changed` per dirty
--                                 site-day not yet applied: { type, idempotency_key = "supply-demand:<site>:<day>:<revision>",
--                                 occurred_at = run.due, site, day, revision, lines = { {sku, quantity (packs), price_unit} } }
--   3. map(supply.demand_changed) upserts the day's draft purchase.order from those lines and records the revision
--                                 applied; an event older than the applied revision is skipped.
--
-- The revision of a site-day is the sum of its contributions' sequence numbers: each appointment numbers its own
-- changes (its events are never mapped concurrently), and a contribution is rewritten only with a higher number, so
-- the sum grows with every change to the day and two different states never share a revision. The dirty mark is a
-- plain last-writer-wins key, so the map that writes it re-reads the day afterwards and writes again until what it
-- wrote matches: the last mark written always covers every contribution written before it.
--
-- Out of order, at least once: the ledger keeps each appointment's newest applied state
-- ("appt/<id>" → { at, occurred_at, type, site, day, units, seq }) and its contribution to its day
-- ("day/<site>/<day>/<id>" → { units, seq }). An event older than the one applied (two reschedules crossing, a booking
-- arriving after its cancellation) changes nothing; a redelivered one rewrites nothing. Other keys:
-- "dirty:<site>:<day>" → { site, day, revision }, "applied:<site>:<day>" → { revision, due } (the run that applied it:
-- a retry of that run, after its delivery failed, emits the day again), "emitted/<site>/<day>" (a suggestion exists).
--
-- Operation, for the `odoo` connector (plugins/odoo/README.md): an upsert of purchase.order keyed
-- conflux.supply_<site>_<YYYYMMDD>; the connector rewrites it while it is a draft and leaves it alone once a buyer
-- confirmed it in Odoo. A day whose demand falls to nothing keeps its draft order with no lines (once one was
-- emitted); a day never emitted emits nothing.
--
-- Lenient on purpose: this mapping runs next to the calendar on the same appointment message, and a failure fails the
-- whole message. An appointment without a site, or with a service code the bill of materials does not know, uses
-- nothing (logged); only an event that is not an appointment event (or supply.demand_changed) at all is refused.
local conflux = require("conflux")
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
M.DEMAND_CHANGED = "supply.demand_changed"
M.MARK_ATTEMPTS = 8           -- rewrites of a dirty mark while other appointments of the day keep changing it

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
-- The ledger's keys. The site as it can stand in a key or an external id (letters, digits, _ . -).

local function key_site(site) return (site:lower():gsub("[^%w_.%-]", "-")) end

local function place_of(site, day) return key_site(site) .. ":" .. day end
local function day_prefix(site, day) return ("day/%s/%s/"):format(key_site(site), day) end
local function dirty_key(site, day) return "dirty:" .. place_of(site, day) end
local function applied_key(site, day) return "applied:" .. place_of(site, day) end
local function emitted_key(site, day) return "emitted/" .. key_site(site) .. "/" .. day end

-- Every entry under a prefix, in key order, page by page.
local function scan_all(prefix, each)
  local after = nil
  repeat
    local page = M._ledger_scan(prefix, after, 1000)
    for _, entry in ipairs(page) do
      each(entry.key, entry.value)
      after = entry.key
    end
  until #page < 1000
end

-- A day's contributions: units summed per SKU (thousandths) and the day's revision (the sum of their sequence numbers).
local function day_demand(site, day)
  local totals, revision = {}, 0
  scan_all(day_prefix(site, day), function(_, value)
    if is_object(value) then
      for sku, amount in pairs(is_object(value.units) and value.units or {}) do totals[sku] = (totals[sku] or 0) + amount end
      revision = revision + (math.tointeger(value.seq) or 0)
    end
  end)
  return totals, revision
end

-- ---------------------------------------------------------------------------------------------------------------
-- Step 1: an appointment event records its contribution and marks its day dirty.

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

local function same_units(a, b)
  a, b = is_object(a) and a or {}, is_object(b) and b or {}
  for sku, amount in pairs(a) do if b[sku] ~= amount then return false end end
  for sku in pairs(b) do if a[sku] == nil then return false end end
  return true
end

-- The dirty mark is last-writer-wins, and two appointments of the day may write it at once with what each one read.
-- Writing, then reading the day again until it still says what was written, makes the LAST mark cover every
-- contribution written before it (a contribution written later is followed by its own mark).
local function mark_dirty(site, day)
  local key = dirty_key(site, day)
  local _, revision = day_demand(site, day)
  local mark = M._ledger_get(key)
  if is_object(mark) and mark.revision == revision then return end
  for _ = 1, M.MARK_ATTEMPTS do
    M._ledger_put(key, { site = site, day = day, revision = revision })
    local _, now = day_demand(site, day)
    if now == revision then return end
    revision = now
  end
  error(conflux.retryable(("%s: the day's demand kept changing while it was being marked (%d writes); try again")
    :format(key, M.MARK_ATTEMPTS)), 0)
end

local function record(event)
  local appointment = event.appointment
  if not is_object(appointment) then fail("$.appointment: expected an object, got " .. describe_value(appointment)) end
  local id = text(appointment.id)
  if not id then fail("$.appointment.id: expected a non-empty string, got " .. describe_value(appointment.id)) end
  local at = instant(event.occurred_at, "$.occurred_at")

  local previous = M._ledger_get("appt/" .. id)
  if previous and previous.at > at then
    log.info("older appointment event ignored for supply", { appointment = id, type = event.type, applied = previous.type })
    return { skip = ("appointment %s: older than the %s applied (%s); supply demand unchanged")
                     :format(id, tostring(previous.type), tostring(previous.occurred_at)) }
  end

  local site, day, units = contribution(event, appointment)
  if RELEASES[event.type] and previous then site, day = site or previous.site, day or previous.day end
  local places = {}
  if previous and previous.site and previous.day and (previous.site ~= site or previous.day ~= day) then
    places[#places + 1] = { site = previous.site, day = previous.day, units = {} }   -- moved: its old day loses it
  end
  if site and day then places[#places + 1] = { site = site, day = day, units = units } end

  -- A contribution is rewritten only when it changes, and then with a higher sequence number than it had (higher than
  -- the appointment's too: an attempt that failed after writing it left the appointment's record behind).
  local seq = math.tointeger(previous and previous.seq) or 0
  local next_seq = seq + 1
  for _, place in ipairs(places) do
    local key = day_prefix(place.site, place.day) .. id
    local current = M._ledger_get(key)
    local stamp = is_object(current) and math.tointeger(current.seq) or 0
    if not is_object(current) or not same_units(current.units, place.units) then
      stamp = math.max(next_seq, stamp + 1)
      M._ledger_put(key, { units = json.object(place.units), seq = stamp })
    end
    seq = math.max(seq, stamp)
  end
  M._ledger_put("appt/" .. id, { at = at, occurred_at = event.occurred_at, type = event.type, site = site, day = day,
                                 units = json.object(units), seq = seq })

  local named = {}
  for i, place in ipairs(places) do
    mark_dirty(place.site, place.day)
    named[i] = place.site .. " " .. place.day
  end
  if #named == 0 then return { skip = ("appointment %s: no site or start, no supply demand recorded"):format(id) } end
  return { skip = ("demand recorded for %s; the demand-sync poll updates the suggestion"):format(table.concat(named, " and ")) }
end

-- ---------------------------------------------------------------------------------------------------------------
-- Step 2 (scheduled): the dirty site-days not yet applied become supply.demand_changed events. Nothing is written
-- here, so a retried run returns the same events (and a retry of the run that applied a day returns it again: its
-- delivery may be what failed).

-- A day's totals as order lines: whole packs per SKU, in SKU order, at the contracted pack price.
local function demand_lines(totals)
  local supplies = M._maps().supplies
  local skus = {}
  for sku, amount in pairs(totals) do
    if amount > 0 then
      if supplies[sku] then skus[#skus + 1] = sku
      else log.warn("demand for a SKU no longer in the supplies map is left out", { sku = sku }) end
    end
  end
  table.sort(skus)
  local lines = {}
  for i, sku in ipairs(skus) do
    local per_pack = math.floor(supplies[sku].pack * 1000 + 0.5)
    lines[i] = { sku = sku, quantity = (totals[sku] + per_pack - 1) // per_pack, price_unit = supplies[sku].price }
  end
  return json.array(lines)
end

function M.poll(input, ctx)
  if not is_object(input) then
    fail("$: expected the scheduled run {flow, schedule, plugin, hook, due}, got " .. describe_value(input))
  end
  local due = input.due
  instant(due, "$.due")
  local applied = {}
  scan_all("applied:", function(key, value) applied[key:sub(#"applied:" + 1)] = value end)

  local events = {}
  scan_all("dirty:", function(key, mark)
    local place = key:sub(#"dirty:" + 1)
    if not is_object(mark) or not text(mark.site) or not text(mark.day) then
      log.warn("dirty mark without its site and day is left out", { key = key })
      return
    end
    local done = is_object(applied[place]) and applied[place] or nil
    local rerun = done ~= nil and done.due == due
    if done and not rerun and (done.revision or 0) >= (mark.revision or 0) then return end
    local totals, revision = day_demand(mark.site, mark.day)
    if done and (revision < (done.revision or 0) or (revision == done.revision and not rerun)) then return end
    events[#events + 1] = {
      type = M.DEMAND_CHANGED,
      idempotency_key = ("supply-demand:%s:%d"):format(place, revision),
      occurred_at = due,
      site = mark.site,
      day = mark.day,
      revision = revision,
      lines = demand_lines(totals),
    }
  end)
  log.info("demand-sync pass", { changed = #events })
  return json.array(events)
end

-- ---------------------------------------------------------------------------------------------------------------
-- Step 3: a supply.demand_changed event becomes the day's draft purchase order.

local function demand_event(event)
  local site = text(event.site)
  if not site then fail("$.site: expected the site (a non-empty string), got " .. describe_value(event.site)) end
  local day = text(event.day)
  if not day or not day:match("^%d%d%d%d%-%d%d%-%d%d$") then
    fail("$.day: expected the procedure day as YYYY-MM-DD, got " .. describe_value(event.day))
  end
  local revision = math.tointeger(event.revision)
  if not revision or revision < 0 then
    fail("$.revision: expected a non-negative integer, got " .. describe_value(event.revision))
  end
  instant(event.occurred_at, "$.occurred_at")
  local lines = event.lines
  if type(lines) ~= "table" or lines == json.null or (next(lines) ~= nil and not json.is_array(lines)) then
    fail("$.lines: expected an array of {sku, quantity, price_unit}, got " .. describe_value(lines))
  end
  for i, line in ipairs(lines) do
    local where = ("$.lines[%d]"):format(i - 1)
    if not is_object(line) then fail(where .. ": expected an object {sku, quantity, price_unit}, got " .. describe_value(line)) end
    if not text(line.sku) then fail(where .. ".sku: expected a non-empty string, got " .. describe_value(line.sku)) end
    local quantity = math.tointeger(line.quantity)
    if not quantity or quantity <= 0 then fail(where .. ".quantity: expected a positive whole number of packs, got " .. describe_value(line.quantity)) end
    if type(line.price_unit) ~= "number" or line.price_unit < 0 then
      fail(where .. ".price_unit: expected the price of a pack, got " .. describe_value(line.price_unit))
    end
  end
  return site, day, revision, lines
end

local function suggestion(event)
  local site, day, revision, lines = demand_event(event)
  local done = M._ledger_get(applied_key(site, day))
  if is_object(done) and (done.revision or 0) > revision then
    return { skip = ("supply demand %s %s: revision %d is older than revision %d already applied")
                     :format(site, day, revision, done.revision) }
  end
  M._ledger_put(applied_key(site, day), { revision = revision, due = event.occurred_at })
  if #lines == 0 and not M._ledger_get(emitted_key(site, day)) then
    return { skip = ("supply demand %s %s: nothing to order and no suggestion yet"):format(site, day) }
  end
  M._ledger_put(emitted_key(site, day), { emitted = true })

  local supplies = M._maps().supplies
  local order_lines = {}
  for i, line in ipairs(lines) do
    local supply = supplies[line.sku]
    order_lines[i] = {
      product_id = { lookup = { model = "product.product", domain = { { "default_code", "=", line.sku } } } },
      name = supply and ("%s %s (%s)"):format(line.sku, supply.description, supply.pack_name or "pack") or line.sku,
      product_qty = math.tointeger(line.quantity),
      price_unit = line.price_unit,
    }
  end
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
      order_line = { lines = json.array(order_lines) },
    },
  }
end

function M.map(event, ctx)
  if not is_object(event) then fail("$: expected an appointment event object, got " .. describe_value(event)) end
  if event.type == M.DEMAND_CHANGED then return suggestion(event) end
  if not USES[event.type] and not RELEASES[event.type] then
    fail(("$.type: expected an appointment event (booked, rescheduled, modified, completed, cancelled, no_show) or %s, got %s")
      :format(M.DEMAND_CHANGED, describe_value(event.type)))
  end
  return record(event)
end

return M
