-- patient-reminders: a mapping plugin. Appointment events become text messages (or e-mails) to the patient,
-- delivered by the `messaging` connector:
--
--   appointment.booked                           → confirmation
--   appointment.rescheduled / .modified (new time) → changed
--   appointment.cancelled                        → cancelled
--   appointment.reminder_due (from the schedule)  → reminder
--
-- The operation: { op = "send", key = "<appointment>:<kind>:<occurred_at, or start for a reminder>", channel = "sms",
-- to = "+1…", body = "…", ref = "<appointment id>:<kind>" }, or for an e-mail { op = "send", key, channel = "email",
-- to = "<address>", subject = "…", body = "…", ref }. The connector sends a key once; `ref` travels with the status
-- callbacks (SMS) or the custom_args of the e-mail provider's events back to the appointment. When nothing may be sent
-- the result is { skip = "<why>" } (the connector sends nothing), never an error: a patient without consent is not a
-- fault.
--
-- The channel, per patient and message: SMS when the patient opted in to SMS explicitly (consent.sms == true; nil is
-- "unknown", which is not consent) and has a mobile number that has not replied STOP; otherwise e-mail when the
-- patient opted in to e-mail (consent.email == true) and has an address that has not unsubscribed; otherwise nothing.
-- SMS comes first because it is what the clinics used so far and is read sooner. Nothing is sent for an appointment
-- that already started. Subject and body name the clinic and the time only (lib/text.lua).
--
-- State, in this plugin's ledger (the host keeps it per plugin name):
--   patient:<mrn>   { phone, phone_at, sms, sms_at, email, email_at, email_consent, email_consent_at }  each field
--                   with the occurred_at (epoch) of the event that set it, so an older event never overwrites a newer
--                   one; a field an event leaves out (nil) is unknown and keeps what is known.
--   phone:<e164>    { opted_out, at }  set only by patient.opted_out / opted_in with a `phone` (the STOP/START
--                   replies), so an opt-out wins over any later registration data until the number opts in again.
--   email:<address, lower case>  { opted_out, at }  the same for patient.opted_out / opted_in with an `email` (the
--                   e-mail provider's unsubscribe, spam report and group unsubscribe events).
--   appt:<id>       { at, event, state, start, start_s, site, mrn, told = {kind, start}, result, reminder = {start, run} }
--                   the newest applied event: an older one (two reschedules crossing, a booking after its
--                   cancellation) changes nothing; the same event again (a retry) gets the same result back.
--   due:<UTC start>:<id>  { id }  the reminder pass's index by start time
--
-- Reminders: `_reminders(input, ctx)` is the scheduled pass (see its comment for why it is `_`-named for now): it
-- returns appointment.reminder_due for appointments starting 24–48 h after the run's due time that have had no
-- reminder for that start.
local json = require("json")
local fixtures = require("fixtures")
local ledger = require("ledger")
local time = require("time")
local clock = require("lib.clock")
local text = require("lib.text")

local M = { kind = "mapping" }

M.VALUE_MAP = "values/sites.json"
M.REMIND_FROM_S, M.REMIND_UNTIL_S = 24 * 3600, 48 * 3600
M.ACTIVE = { booked = true, rescheduled = true, modified = true }

-- Replaceable in specs: the store and the clock.
function M._ledger_get(key) return ledger.get(key) end
function M._ledger_put(key, value) return ledger.put(key, value) end
function M._ledger_scan(prefix, after, limit) return ledger.scan(prefix, after, limit) end
function M._now() return math.floor(time.now()) end

local function fail(message) error(message, 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function present(value) return value ~= nil and value ~= json.null end

local function object_at(value, path)
  if type(value) ~= "table" or value == json.null or json.is_array(value) then
    fail(("%s: expected an object, got %s"):format(path, describe_value(value)))
  end
  return value
end

local function string_at(value, path)
  if type(value) ~= "string" or value == "" then fail(("%s: expected a non-empty string, got %s"):format(path, describe_value(value))) end
  return value
end

local function instant_at(value, path, zone)
  string_at(value, path)
  local seconds, err = clock.instant(value, zone)
  if not seconds then fail(("%s: %s"):format(path, err)) end
  return seconds
end

local E164 = "^%+[1-9]%d%d%d%d%d%d+$"
local function is_e164(value) return type(value) == "string" and #value <= 16 and value:match(E164) ~= nil end

-- name@domain.tld, no spaces or control characters (the same test the scheduling sources apply), at most 254 bytes
-- (RFC 5321's limit on a path).
local EMAIL = "^[^%s%c@]+@[^%s%c@]+%.[^%s%c@.]+$"
local function is_email(value) return type(value) == "string" and #value <= 254 and value:match(EMAIL) ~= nil end
-- Providers treat addresses case-insensitively, so an unsubscribe of M.Okafor@… covers m.okafor@….
local function address_key(email) return "email:" .. email:lower() end

-- ---------------------------------------------------------------------------------------------------------------
-- The site value map: site code → { name, phone (E.164), time_zone (IANA, one lib/clock.lua knows) }.

function M._load_value_map(path)
  local ok, raw = pcall(fixtures.read, path)
  if not ok then fail(("%s: cannot read the value map: %s"):format(path, tostring(raw))) end
  local decoded_ok, map = pcall(json.decode, raw)
  if not decoded_ok then fail(("%s: not valid JSON: %s"):format(path, tostring(map))) end
  object_at(map, path)
  for code, site in pairs(map) do
    local where = ("%s: $[%q]"):format(path, code)
    object_at(site, where)
    string_at(site.name, where .. ".name")
    if not site.name:match("^[ -~]+$") then
      fail(where .. ".name: keep site names to plain ASCII (GSM-7), or every message costs two or three segments")
    end
    if not is_e164(site.phone) then fail(("%s.phone: expected an E.164 number like +15555550100, got %s"):format(where, describe_value(site.phone))) end
    string_at(site.time_zone, where .. ".time_zone")
    if not clock.ZONES[site.time_zone] then
      fail(("%s.time_zone: %q is not a zone lib/clock.lua knows"):format(where, site.time_zone))
    end
  end
  return map
end

local sites
function M._sites()
  sites = sites or M._load_value_map(M.VALUE_MAP)
  return sites
end

local function site_at(code, path)
  local site = M._sites()[string_at(code, path)]
  if not site then fail(("%s: site %q is not in the value map %s"):format(path, code, M.VALUE_MAP)) end
  return site
end

-- ---------------------------------------------------------------------------------------------------------------
-- Patients and numbers

local function skip(reason) return { skip = reason } end

-- Applies what an event says about the patient, field by field, unless the ledger has newer.
local function remember_patient(patient, at, path)
  object_at(patient, path)
  local mrn = string_at(patient.mrn, path .. ".mrn")
  local key = "patient:" .. mrn
  local known = M._ledger_get(key) or {}
  local changed = false
  local contact = present(patient.contact) and object_at(patient.contact, path .. ".contact") or {}
  local consent = present(patient.consent) and object_at(patient.consent, path .. ".consent") or {}
  -- A consent that is not a boolean fails the event whether or not it is newer: the source is broken either way.
  for _, channel in ipairs({ "sms", "email" }) do
    if present(consent[channel]) and type(consent[channel]) ~= "boolean" then
      fail(("%s.consent.%s: expected true, false or null, got %s"):format(path, channel, describe_value(consent[channel])))
    end
  end
  if present(contact.phone) and at >= (known.phone_at or -math.huge) then
    -- A number that is not E.164 is kept out (nothing can be sent to it) but does not fail the event.
    known.phone = is_e164(contact.phone) and contact.phone or nil
    known.phone_at, changed = at, true
  end
  if present(consent.sms) and at >= (known.sms_at or -math.huge) then
    known.sms, known.sms_at, changed = consent.sms, at, true
  end
  if present(contact.email) and at >= (known.email_at or -math.huge) then
    -- Likewise an address that is not one.
    known.email = is_email(contact.email) and contact.email or nil
    known.email_at, changed = at, true
  end
  if present(consent.email) and at >= (known.email_consent_at or -math.huge) then
    known.email_consent, known.email_consent_at, changed = consent.email, at, true
  end
  if changed then M._ledger_put(key, known) end
  return mrn
end

-- The number to text, or nil and why not. The order of the checks is the order of the reasons a person would ask.
local function sms_recipient(patient)
  if patient.sms ~= true then
    return nil, patient.sms == false and "the patient declined SMS (consent.sms = false)"
      or "no SMS consent on record for the patient (consent.sms is not true)"
  end
  if not patient.phone then return nil, "no mobile number on record for the patient" end
  local number = M._ledger_get("phone:" .. patient.phone)
  if number and number.opted_out then return nil, "the patient's number replied STOP (opted out)" end
  return patient.phone
end

-- The address to e-mail, or nil and why not.
local function email_recipient(patient)
  if patient.email_consent ~= true then
    return nil, patient.email_consent == false and "the patient declined e-mail (consent.email = false)"
      or "no e-mail consent on record for the patient (consent.email is not true)"
  end
  if not patient.email then return nil, "no e-mail address on record for the patient" end
  local address = M._ledger_get(address_key(patient.email))
  if address and address.opted_out then return nil, "the patient's e-mail address unsubscribed (opted out)" end
  return patient.email
end

-- The channel and the recipient, or nil, nil and why neither: SMS first, e-mail when SMS may not be used.
local function recipient(mrn)
  if not mrn then return nil, nil, "the appointment names no patient" end
  local patient = M._ledger_get("patient:" .. mrn) or {}
  local phone, no_sms = sms_recipient(patient)
  if phone then return "sms", phone end
  local email, no_email = email_recipient(patient)
  if email then return "email", email end
  return nil, nil, ("%s; %s"):format(no_sms, no_email)
end

local function number_event(event, opted_out)
  local phone = string_at(event.phone, "$.phone")
  if not is_e164(phone) then fail(("$.phone: expected an E.164 number, got %s"):format(describe_value(phone))) end
  local at = instant_at(event.occurred_at, "$.occurred_at")
  local key = "phone:" .. phone
  local known = M._ledger_get(key)
  if known and at < known.at then return skip("an opt-in/opt-out newer than this one is already recorded") end
  M._ledger_put(key, { opted_out = opted_out, at = at })
  return skip(opted_out and "number opted out: no messages until it opts in" or "number opted in again")
end

local function address_event(event, opted_out)
  local email = string_at(event.email, "$.email")
  -- The address is not echoed: an error ends up in the dead letter.
  if not is_email(email) then fail("$.email: expected an e-mail address like name@example.org, got a string that is not one") end
  local at = instant_at(event.occurred_at, "$.occurred_at")
  local key = address_key(email)
  local known = M._ledger_get(key)
  if known and at < known.at then return skip("an opt-in/opt-out newer than this one is already recorded") end
  M._ledger_put(key, { opted_out = opted_out, at = at })
  return skip(opted_out and "address opted out: no e-mails until it opts in" or "address opted in again")
end

-- patient.opted_out / opted_in name a `phone` (SMS STOP/START) or an `email` (the e-mail provider's unsubscribes);
-- `channel`, when given, says which.
local function consent_event(event, opted_out)
  local channel = event.channel
  if not present(channel) then channel = (present(event.email) and not present(event.phone)) and "email" or "sms" end
  if channel == "sms" then return number_event(event, opted_out) end
  if channel == "email" then return address_event(event, opted_out) end
  fail(("$.channel: expected \"sms\" or \"email\", got %s"):format(describe_value(channel)))
end

-- ---------------------------------------------------------------------------------------------------------------
-- Messages

-- The send operation, or a skip saying why not. `key_time` distinguishes messages of one kind (the event's occurred_at;
-- a reminder's start).
local function message(kind, id, entry, key_time)
  local now = M._now()
  if entry.start_s <= now then return skip(("the appointment started at %s: nothing to tell"):format(entry.start)) end
  if not entry.site then return skip("the appointment has no site: a message could not name the clinic or its time zone") end
  local site = site_at(entry.site, "$.appointment.site")
  local channel, to, why = recipient(entry.mrn)
  if not to then return skip(why) end
  return {
    op = "send", key = ("%s:%s:%s"):format(id, kind, key_time), channel = channel, to = to,
    subject = channel == "email" and text.subject(kind, site) or nil,
    body = text.body(kind, site, entry.start_s, channel), ref = ("%s:%s"):format(id, kind),
  }
end

local STATES = { ["appointment.booked"] = "booked", ["appointment.rescheduled"] = "rescheduled",
                 ["appointment.modified"] = "modified", ["appointment.cancelled"] = "cancelled",
                 ["appointment.no_show"] = "no_show", ["appointment.completed"] = "completed" }

-- Which message the new state calls for, given what was applied before, or nil and why none.
local function kind_for(state, previous, start_s)
  local told = previous.told
  local already = told and told.kind ~= "cancelled" and told.start_s == start_s
  if state == "booked" then
    if already then return nil, "the patient was already told this time" end
    return "confirmation"
  elseif state == "modified" and not (previous.start_s and previous.start_s ~= start_s) then
    -- S14 also carries changes the patient does not see (a room, a resource); only a new time is news to them.
    return nil, "modified without a new time: nothing the patient needs to know"
  elseif state == "rescheduled" or state == "modified" then
    if already then return nil, "the patient was already told this time" end
    if previous.start_s == start_s and previous.state ~= "cancelled" then return nil, "rescheduled to the time already known" end
    return "changed"
  elseif state == "cancelled" then
    if previous.state == "cancelled" then return nil, "already cancelled" end
    return "cancelled"
  end
  return nil, ("%s: no message"):format(state)
end

local function appointment_event(event, state)
  local at = instant_at(event.occurred_at, "$.occurred_at")
  local appointment = object_at(event.appointment, "$.appointment")
  local id = string_at(appointment.id, "$.appointment.id")
  local mrn = present(event.patient) and remember_patient(event.patient, at, "$.patient") or nil
  local key = "appt:" .. id
  local previous = M._ledger_get(key) or {}
  if previous.event ~= nil and previous.event == event.idempotency_key and previous.result then
    return previous.result -- the same event again (a retry): the same answer, so the connector's key dedupes it
  end
  if previous.at and at < previous.at then
    return skip(("older than the newest applied event of appointment %s (%s): ignored"):format(id, previous.occurred_at))
  end
  local site = present(appointment.site) and string_at(appointment.site, "$.appointment.site") or previous.site
  local zone = site and M._sites()[site] and M._sites()[site].time_zone or nil
  local start, start_s = previous.start, previous.start_s
  if present(appointment.start) then start, start_s = appointment.start, instant_at(appointment.start, "$.appointment.start", zone) end
  local entry = { at = at, occurred_at = event.occurred_at, event = event.idempotency_key, state = state, start = start,
                  start_s = start_s, site = site, mrn = mrn or previous.mrn, told = previous.told, reminder = previous.reminder }
  local result
  if not start_s then
    result = skip(("appointment %s has no start time: nothing to tell"):format(id))
  else
    local kind, why = kind_for(state, previous, start_s)
    result = kind and message(kind, id, entry, event.occurred_at) or skip(why)
    if result.op == "send" then entry.told = { kind = kind, start = start, start_s = start_s } end
  end
  entry.result = result
  M._ledger_put(key, entry)
  if start_s and start_s ~= previous.start_s then
    -- The reminder pass's index, in start-time order, so it reads the next two days only and not every appointment
    -- ever seen. An entry left behind by a reschedule is harmless: the pass checks it against appt:<id>.
    M._ledger_put(("due:%s:%s"):format(clock.iso(start_s), id), { id = id })
  end
  return result
end

local function reminder_event(event)
  local appointment = object_at(event.appointment, "$.appointment")
  local id = string_at(appointment.id, "$.appointment.id")
  local start = string_at(appointment.start, "$.appointment.start")
  local entry = M._ledger_get("appt:" .. id)
  if not entry then return skip(("appointment %s is not known here"):format(id)) end
  if not M.ACTIVE[entry.state] then return skip(("appointment %s is %s now: no reminder"):format(id, entry.state)) end
  if entry.start ~= start then
    return skip(("appointment %s moved to %s since the reminder was due: the next run reminds for the new time"):format(id, entry.start))
  end
  return message("reminder", id, entry, entry.start)
end

function M.map(event, ctx)
  object_at(event, "$")
  local kind = string_at(event.type, "$.type")
  if kind == "patient.registered" or kind == "patient.updated" then
    remember_patient(event.patient, instant_at(event.occurred_at, "$.occurred_at"), "$.patient")
    return skip("patient details recorded: nothing to send")
  elseif kind == "patient.opted_out" then
    return consent_event(event, true)
  elseif kind == "patient.opted_in" then
    return consent_event(event, false)
  elseif kind == "appointment.reminder_due" then
    return reminder_event(event)
  elseif STATES[kind] then
    return appointment_event(event, STATES[kind])
  end
  fail(("$.type: %q is not an event patient-reminders takes (appointment.*, patient.registered/updated/opted_out/opted_in)"):format(kind))
end

-- ---------------------------------------------------------------------------------------------------------------
-- The scheduled pass. `input` is the host's scheduled run ({flow, schedule, plugin, hook, due}); its due time is "now",
-- so a retried run decides exactly as the first attempt did. An appointment gets one reminder per start time; the run
-- that produced it is recorded, so a retry of that same run (its events failed downstream) produces them again —
-- the connector's key keeps the patient from getting two.
-- It is the plugin's `poll` hook: a flow's schedule names patient-reminders with hook poll (a mapping may be polled,
-- since the ledger it reads is this plugin's own).
function M._reminders(input, ctx)
  local now = M._now()
  local run = "reminders"
  if type(input) == "table" and type(input.due) == "string" then
    now = instant_at(input.due, "$.due")
    run = ("%s@%s"):format(tostring(input.schedule or "reminders"), input.due)
  end
  -- Index keys are "due:<UTC start, 20 characters>:<id>"; ';' sorts right after ':', so starting after
  -- "due:<first second - 1>;" includes the first second of the window.
  local until_text = clock.iso(now + M.REMIND_UNTIL_S)
  local events, after = {}, ("due:%s;"):format(clock.iso(now + M.REMIND_FROM_S - 1))
  local done = false
  repeat
    local page = M._ledger_scan("due:", after, 200)
    for _, item in ipairs(page) do
      if item.key:sub(5, 24) >= until_text then done = true; break end
      local id = item.value.id
      local key = "appt:" .. id
      local entry = M._ledger_get(key)
      local current = entry and entry.start_s and clock.iso(entry.start_s) == item.key:sub(5, 24)
      local reminded = entry and entry.reminder and entry.reminder.start == entry.start and entry.reminder.run ~= run
      if current and M.ACTIVE[entry.state] and not reminded then
        events[#events + 1] = {
          type = "appointment.reminder_due",
          idempotency_key = ("reminder:%s:%s"):format(id, entry.start),
          occurred_at = clock.iso(now),
          appointment = { id = id, start = entry.start, site = entry.site },
          patient = entry.mrn and { mrn = entry.mrn } or nil,
        }
        entry.reminder = { start = entry.start, run = run, at = clock.iso(now) }
        M._ledger_put(key, entry)
      end
      after = item.key
    end
  until done or #page < 200
  return json.array(events)
end

M.poll = M._reminders

return M
