-- appointment-odoo: a mapping plugin. The canonical scheduling events (from scheduling-hl7, scheduling-fhir,
-- scheduling-saas) become operations for the `odoo` connector (plugins/odoo/README.md), run in order:
--
--   1. upsert the patient as a contact (res.partner), external id conflux.patient_<mrn>, matched by ref = mrn: the
--      same key, match and minimal fields as service-invoice, so an appointment and an invoice share one partner;
--   2. (appointment.* only) upsert the calendar entry (calendar.event), external id conflux.appointment_<id>, matched
--      by x_appointment_ref = id, attended by that partner.
-- patient.registered / patient.updated give step 1 only.
--
-- The partner: name ("<given> <family>"), ref = MRN, customer_rank = 1. Contact details go only when the catalog
-- entry allows them (data minimisation): config.partner_fields, a list of "email" (res.partner.email), "phone"
-- (res.partner.phone) and/or "mobile" (res.partner.mobile), each from patient.contact; none by default.
--
-- The calendar entry (Odoo's field names):
--   name "<service name> — <site>" (the billable service's short name from the value map, "Appointment" without a
--   service; nothing else clinical), start/stop in Odoo's UTC "YYYY-MM-DD HH:MM:SS" (the event's ISO times converted
--   by their offset; a time without an offset is refused: it cannot be placed), duration in hours, location and
--   x_site = the site, x_appointment_ref = the appointment id, x_service_code, x_status (booked, rescheduled,
--   modified, cancelled, no_show, completed: the event type's suffix), active = false when cancelled (Odoo keeps the
--   record archived), x_expected_revenue = the service's price from the value map (the list price, whatever the
--   status: reports filter by x_status), partner_ids = { many = { { xmlid = <partner key> } } } (replace: the patient).
--   Stop is start + duration_minutes when the event has no stop.
--
-- Service codes → short name and price, kept as data: values/service-prices.json, { "<code>": { "name", "price" } },
-- the codes and list prices of the clinics' Odoo products (SVC-<code>). A code not in it is a permanent error.
--
-- Out of order: partners may send a cancellation before its booking, or two reschedules crossing. The ledger keeps,
-- per appointment (key "appointment_<id>"), the newest occurred_at applied and the state it implies (status, start,
-- stop, duration, site, service, patient). An event at least as new as that replaces the state (fields it lacks —
-- a cancellation without times — are kept from before); an older one changes nothing but fills fields the state still
-- lacks (the booking that arrives after its cancellation supplies the times). Either way the operations written are
-- those of the newest state — the connector's upsert is idempotent, so repeating it is harmless and repairs a
-- delivery that was lost. Until a start is known there is no calendar entry, only the partner. occurred_at without a
-- UTC offset is ordered as if it were UTC.
--
-- Errors are permanent and name the event's field ($.appointment.service.code); a ledger that cannot be read or
-- written is retryable.
local json = require("json")
local conflux = require("conflux")
local fixtures = require("fixtures")
local ledger = require("ledger")
local log = require("log")
local datetime = require("lib.datetime")

local M = { kind = "mapping" }

M.VALUE_MAP = "values/service-prices.json"
M.STATUSES = { booked = true, rescheduled = true, modified = true, cancelled = true, no_show = true, completed = true }
M.PARTNER_FIELDS = { email = "email", phone = "phone", mobile = "mobile" }

-- The ledger, replaceable in specs (plugin tests have no store).
function M._ledger_get(key) return ledger.get(key) end
function M._ledger_put(key, value) return ledger.put(key, value) end

local function fail(path, message) error(conflux.permanent(path .. ": " .. message), 0) end

local function absent(value) return value == nil or value == json.null end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function object_at(value, path)
  if type(value) ~= "table" or value == json.null or json.is_array(value) then
    fail(path, "expected an object, got " .. describe_value(value))
  end
  return value
end

local function string_at(value, path)
  if type(value) ~= "string" or value == "" then fail(path, "expected a non-empty string, got " .. describe_value(value)) end
  return value
end

local function optional_string_at(value, path)
  if absent(value) then return nil end
  return string_at(value, path)
end

-- Ids become external ids (conflux.patient_<mrn>, conflux.appointment_<id>): letters, digits, '_', '.', '-' only.
local function key_part_at(value, path)
  string_at(value, path)
  if not value:match("^[%w_.%-]+$") then
    fail(path, ("%q has characters an Odoo external id cannot hold (letters, digits, _ . - only)"):format(value))
  end
  return value
end

-- Times ----------------------------------------------------------------------------------------------------------------

-- An ISO 8601 date-time with its offset → UTC seconds; the Odoo form is datetime.odoo(seconds).
function M._utc_seconds(value, path)
  string_at(value, path)
  local parsed, problem = datetime.parse(value)
  if parsed and parsed.offset == nil then parsed, problem = nil, "has no UTC offset, so it cannot be placed in Odoo's UTC" end
  if not parsed then fail(path, ("%q %s"):format(value, problem)) end
  return parsed.epoch
end

-- "2026-11-24T09:30:00-05:00" → "2026-11-24 14:30:00" (Odoo keeps datetimes in UTC, without a zone).
function M._odoo_datetime(value, path) return datetime.odoo(M._utc_seconds(value, path or "datetime")) end

-- occurred_at orders events: UTC seconds with fractions; a time without an offset is read as UTC.
local function order_of(value, path)
  string_at(value, path)
  local parsed, problem = datetime.parse(value)
  if not parsed then fail(path, ("%q %s"):format(value, problem)) end
  return parsed.epoch + parsed.fraction
end

-- The value map -------------------------------------------------------------------------------------------------------

function M._load_value_map(path)
  local ok, text = pcall(fixtures.read, path)
  if not ok then error(conflux.permanent(("%s: cannot read the value map: %s"):format(path, tostring(text))), 0) end
  local decoded_ok, map = pcall(json.decode, text)
  if not decoded_ok or type(map) ~= "table" or json.is_array(map) then
    error(conflux.permanent(("%s: expected a JSON object of service code → { name, price }"):format(path)), 0)
  end
  for code, entry in pairs(map) do
    local where = ("%s: $[%q]"):format(path, code)
    object_at(entry, where)
    string_at(entry.name, where .. ".name")
    local price = entry.price
    if type(price) ~= "number" or price < 0 or math.abs(price * 100 - math.floor(price * 100 + 0.5)) > 1e-6 then
      fail(where .. ".price", "expected an amount in whole cents, got " .. describe_value(price))
    end
  end
  return map
end

local value_map
function M._value_map()
  value_map = value_map or M._load_value_map(M.VALUE_MAP)
  return value_map
end

-- Configuration -------------------------------------------------------------------------------------------------------

-- config.partner_fields → { email = true, … }; the default is none.
function M._partner_fields(ctx)
  local config = type(ctx) == "table" and ctx.config or nil
  local list = type(config) == "table" and config.partner_fields or nil
  local allowed = {}
  if absent(list) then return allowed end
  if type(list) ~= "table" or (next(list) ~= nil and #list == 0) then
    fail("config.partner_fields", "expected a list of email, phone, mobile, got " .. describe_value(list))
  end
  for i, field in ipairs(list) do
    if not M.PARTNER_FIELDS[field] then
      fail(("config.partner_fields[%d]"):format(i), ("%s is not one of email, phone, mobile"):format(describe_value(field)))
    end
    allowed[field] = true
  end
  return allowed
end

-- The partner ---------------------------------------------------------------------------------------------------------

local function partner_operation(event, ctx)
  local patient = object_at(event.patient, "$.patient")
  local mrn = key_part_at(patient.mrn, "$.patient.mrn")
  local given = optional_string_at(patient.given_name, "$.patient.given_name")
  local family = optional_string_at(patient.family_name, "$.patient.family_name")
  if not given and not family then fail("$.patient", "needs a given_name or family_name (an Odoo contact needs a name)") end
  local values = { name = (given and family) and (given .. " " .. family) or given or family, ref = mrn, customer_rank = 1 }
  local allowed = M._partner_fields(ctx)
  if next(allowed) and not absent(patient.contact) then
    local contact = object_at(patient.contact, "$.patient.contact")
    local email = optional_string_at(contact.email, "$.patient.contact.email")
    local phone = optional_string_at(contact.phone, "$.patient.contact.phone")
    if allowed.email then values.email = email end
    if allowed.phone then values.phone = phone end
    if allowed.mobile then values.mobile = phone end
  end
  local key = "conflux.patient_" .. mrn
  return { op = "upsert", model = "res.partner", key = key, match = { { "ref", "=", mrn } }, values = values }, mrn
end

-- The appointment's state ---------------------------------------------------------------------------------------------

-- What this event says about the appointment (nil fields: not said).
local function incoming_state(event, status, mrn)
  local a = object_at(event.appointment, "$.appointment")
  local state = {
    id = key_part_at(a.id, "$.appointment.id"),
    at = order_of(event.occurred_at, "$.occurred_at"),
    occurred_at = event.occurred_at,
    status = status,
    mrn = mrn,
    site = optional_string_at(a.site, "$.appointment.site"),
  }
  if not absent(a.start) then state.start = M._utc_seconds(a.start, "$.appointment.start") end
  if not absent(a.stop) then state.stop = M._utc_seconds(a.stop, "$.appointment.stop") end
  if not absent(a.duration_minutes) then
    if type(a.duration_minutes) ~= "number" or a.duration_minutes <= 0 then
      fail("$.appointment.duration_minutes", "expected a positive number, got " .. describe_value(a.duration_minutes))
    end
    state.duration_minutes = a.duration_minutes
  end
  if state.start and state.stop and state.stop < state.start then
    fail("$.appointment.stop", ("%s is before the start %s"):format(a.stop, a.start))
  end
  if not absent(a.service) then
    local service = object_at(a.service, "$.appointment.service")
    local code = optional_string_at(service.code, "$.appointment.service.code")
    if code then
      if not M._value_map()[code] then
        fail("$.appointment.service.code", ("service code %s has no price in the value map (%s)"):format(code, M.VALUE_MAP))
      end
      state.service = code
    end
  end
  return state
end

local FILLED = { "start", "stop", "duration_minutes", "site", "service", "mrn" }

-- The newest known state, given what the ledger holds and this event.
function M._merge(previous, incoming)
  local newer, older = incoming, previous
  if previous and incoming.at < previous.at then newer, older = previous, incoming end
  local state = {}
  for k, v in pairs(newer) do state[k] = v end
  for _, field in ipairs(FILLED) do
    if state[field] == nil and older then state[field] = older[field] end
  end
  return state, newer == incoming
end

local function calendar_operation(state)
  if not state.start then return nil end
  local stop = state.stop or (state.duration_minutes and state.start + math.floor(state.duration_minutes * 60 + 0.5))
  if not stop then fail("$.appointment.stop", "missing, and no duration_minutes to derive it from") end
  local price = state.service and M._value_map()[state.service] or nil
  local title = price and price.name or "Appointment"
  local values = {
    name = state.site and (title .. " — " .. state.site) or title,
    start = datetime.odoo(state.start),
    stop = datetime.odoo(stop),
    duration = (stop - state.start) / 3600,
    location = state.site,
    x_appointment_ref = state.id,
    x_site = state.site,
    x_service_code = state.service,
    x_status = state.status,
    x_expected_revenue = price and price.price or nil,
    active = state.status ~= "cancelled",
    partner_ids = { many = { { xmlid = "conflux.patient_" .. state.mrn } } },
  }
  return {
    op = "upsert",
    model = "calendar.event",
    key = "conflux.appointment_" .. state.id,
    match = { { "x_appointment_ref", "=", state.id } },
    values = values,
    ledger = { appointment = state.id, status = state.status, start = values.start, stop = values.stop,
               expected_revenue = values.x_expected_revenue, partner = state.mrn, occurred_at = state.occurred_at },
  }
end

local function guarded(what, fn, ...)
  local ok, result = pcall(fn, ...)
  if not ok then
    local message = type(result) == "table" and result.message or tostring(result)
    error(conflux.retryable(("appointment-odoo: the ledger cannot be %s: %s"):format(what, message)), 0)
  end
  return result
end

function M.map(event, ctx)
  object_at(event, "$")
  local kind = string_at(event.type, "$.type")
  local status = kind:match("^appointment%.(.+)$")
  if not (status and M.STATUSES[status]) and kind ~= "patient.registered" and kind ~= "patient.updated" then
    fail("$.type", ("%s is not an event this mapping takes (appointment.booked, rescheduled, modified, cancelled, no_show, completed; patient.registered, updated)"):format(kind))
  end
  local partner, mrn = partner_operation(event, ctx)
  if not status then return { operations = { partner } } end

  local incoming = incoming_state(event, status, mrn)
  local key = "appointment_" .. incoming.id
  local previous = guarded("read", M._ledger_get, key)
  if previous == json.null then previous = nil end
  local state, applied = M._merge(previous, incoming)
  if not applied then
    log.info("an older event than the newest applied: writing the newest state again",
             { appointment = incoming.id, event_at = incoming.occurred_at, newest_at = state.occurred_at })
  end
  guarded("written", M._ledger_put, key, state)
  return { operations = { partner, calendar_operation(state) } }
end

return M
