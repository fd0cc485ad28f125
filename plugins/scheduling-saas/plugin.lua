-- scheduling-saas: a source plugin for the scheduling SaaS's plain JSON webhooks (POST /ingest/scheduling-saas).
--
-- The webhook (what the SaaS posts; the flow's `auth` block checks its signature before this runs):
--   { "id": "wh_…",                                   -- unique per delivery attempt series: the idempotency key
--     "event": "appointment.scheduled" | "appointment.rescheduled" | "appointment.updated" | "appointment.canceled"
--              | "appointment.no_show" | "appointment.completed" | "client.created" | "client.updated",
--     "occurred_at": "2026-11-23T09:15:00-05:00",     -- when it happened at the SaaS (with a UTC offset)
--     "data": {
--       "appointment": { "id", "starts_at", "ends_at", "duration_minutes"?, "status"?,     -- not for client.*
--                        "location": { "code": "north", "name"? }?, "service": { "code": "99213", "name"?, "system"? }? },
--       "client": { "id": "MRN-0047711", "first_name", "last_name", "phone"?, "email"?,
--                   "sms_opt_in"?: true|false, "email_opt_in"?: true|false } } }
-- starts_at/ends_at may be missing only on appointment.canceled. Anything else the SaaS sends (notes, intake answers,
-- birth date, address) is dropped here and never travels further.
--
--   appointment.scheduled → appointment.booked      appointment.rescheduled → appointment.rescheduled
--   appointment.updated   → appointment.modified    appointment.canceled    → appointment.cancelled
--   appointment.no_show   → appointment.no_show     appointment.completed   → appointment.completed
--   client.created        → patient.registered      client.updated          → patient.updated
-- Other event families (invoice.*, staff.*, …) are acknowledged with no events, so the SaaS stops retrying them; an
-- unknown appointment.* or client.* event is refused (a typo there would otherwise lose a change silently).
--
-- Canonical event: { type, idempotency_key = "saas:<id>", occurred_at,
--   appointment = { id, start, stop, duration_minutes?, status?, site? (location.code, lower-cased),
--                   service? = { code, text? (service.name), system? } },
--   patient = { mrn (client.id), given_name, family_name, contact = { phone? (E.164), email? }?,
--               consent = { sms?, email? }? (from the opt-in flags; a missing flag is unknown) } }
-- A phone or e-mail that cannot be used is dropped with a warning naming its path: contact details are a convenience,
-- never a reason to refuse an appointment. Every refusal is a permanent error naming the JSON path ($.data.client.id).
local json = require("json")
local conflux = require("conflux")
local log = require("log")
local datetime = require("lib.datetime")
local phone = require("lib.phone")

local M = { kind = "source" }

M.EVENTS = {
  ["appointment.scheduled"] = "appointment.booked", ["appointment.rescheduled"] = "appointment.rescheduled",
  ["appointment.updated"] = "appointment.modified", ["appointment.canceled"] = "appointment.cancelled",
  ["appointment.no_show"] = "appointment.no_show", ["appointment.completed"] = "appointment.completed",
  ["client.created"] = "patient.registered", ["client.updated"] = "patient.updated",
}

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

local function optional_boolean_at(value, path)
  if absent(value) then return nil end
  if type(value) ~= "boolean" then fail(path, "expected true or false, got " .. describe_value(value)) end
  return value
end

-- A date-time with its UTC offset: without one, the time cannot be placed on Odoo's UTC calendar.
local function datetime_at(value, path)
  string_at(value, path)
  local parsed, problem = datetime.parse(value)
  if parsed and parsed.offset == nil then parsed, problem = nil, "has no UTC offset (Z or ±hh:mm)" end
  if not parsed then fail(path, ("%q is not an ISO 8601 date-time with offset: it %s"):format(value, problem)) end
  return value
end

local function patient_of(client, path)
  object_at(client, path)
  local patient = {
    mrn = string_at(client.id, path .. ".id"),
    given_name = string_at(client.first_name, path .. ".first_name"),
    family_name = string_at(client.last_name, path .. ".last_name"),
  }
  local contact = {}
  if not absent(client.phone) then
    local number, problem = phone.e164(string_at(client.phone, path .. ".phone"))
    if not number then log.warn("phone dropped", { path = path .. ".phone", reason = problem }) end
    contact.phone = number
  end
  if not absent(client.email) then
    contact.email = phone.email(string_at(client.email, path .. ".email"))
    if not contact.email then log.warn("e-mail dropped", { path = path .. ".email", reason = "not an e-mail address" }) end
  end
  if next(contact) then patient.contact = contact end
  local consent = { sms = optional_boolean_at(client.sms_opt_in, path .. ".sms_opt_in"),
                    email = optional_boolean_at(client.email_opt_in, path .. ".email_opt_in") }
  if next(consent) then patient.consent = consent end
  return patient
end

local function appointment_of(appointment, path, canceled)
  object_at(appointment, path)
  local out = {
    id = string_at(appointment.id, path .. ".id"),
    status = optional_string_at(appointment.status, path .. ".status"),
  }
  if not (canceled and absent(appointment.starts_at)) then out.start = datetime_at(appointment.starts_at, path .. ".starts_at") end
  if not (canceled and absent(appointment.ends_at)) then out.stop = datetime_at(appointment.ends_at, path .. ".ends_at") end
  if out.start and out.stop and datetime.parse(out.stop).epoch < datetime.parse(out.start).epoch then
    fail(path .. ".ends_at", ("%s is before starts_at %s"):format(out.stop, out.start))
  end
  local duration = appointment.duration_minutes
  if not absent(duration) then
    if math.type(duration) ~= "integer" or duration <= 0 then
      fail(path .. ".duration_minutes", "expected a positive whole number of minutes, got " .. describe_value(duration))
    end
    out.duration_minutes = duration
  end
  if not absent(appointment.location) then
    out.site = string_at(object_at(appointment.location, path .. ".location").code, path .. ".location.code"):lower()
  end
  if not absent(appointment.service) then
    local service = object_at(appointment.service, path .. ".service")
    out.service = { code = string_at(service.code, path .. ".service.code"),
                    text = optional_string_at(service.name, path .. ".service.name"),
                    system = optional_string_at(service.system, path .. ".service.system") }
  end
  return out
end

function M.decode(body)
  local ok, doc = pcall(json.decode, body)
  if not ok then fail("$", "not JSON: " .. tostring(type(doc) == "table" and doc.message or doc)) end
  object_at(doc, "$")
  local name = string_at(doc.event, "$.event")
  local kind = M.EVENTS[name]
  if not kind then
    if name:match("^appointment%.") or name:match("^client%.") then
      fail("$.event", ("%s is not an event this source knows (appointment.scheduled, rescheduled, updated, canceled, no_show, completed; client.created, updated)"):format(name))
    end
    log.info("webhook event ignored", { event = name })
    return json.array({})
  end
  local id = string_at(doc.id, "$.id")
  local occurred_at = datetime_at(doc.occurred_at, "$.occurred_at")
  local data = object_at(doc.data, "$.data")
  local event = { type = kind, idempotency_key = "saas:" .. id, occurred_at = occurred_at }
  if kind:match("^appointment%.") then
    event.appointment = appointment_of(data.appointment, "$.data.appointment", name == "appointment.canceled")
  end
  event.patient = patient_of(data.client, "$.data.client")
  return json.array({ event })
end

return M
