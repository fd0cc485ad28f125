-- scheduling-hl7: a source plugin for the scheduling system's HL7 v2 feed (over MLLP or POST /ingest/scheduling-hl7).
--
-- SIU (scheduling) and ADT (registration) messages become canonical events. What travels on is what the back office
-- needs — who, when, where, which billable service — never the clinical detail the feed also carries (diagnoses,
-- observations, notes stay here).
--
--   SIU^S12 → appointment.booked      SIU^S13 → appointment.rescheduled   SIU^S14 → appointment.modified
--   SIU^S15 → appointment.cancelled   SIU^S26 → appointment.no_show
--   SIU^S14 whose SCH-25 filler status is "Complete" → appointment.completed (HL7 v2 has no completion trigger; the
--   scheduling system reports a finished visit as a modification to status Complete)
--   ADT^A04 → patient.registered      ADT^A08 → patient.updated
--
-- Canonical appointment event:
--   { type, idempotency_key = "hl7:<sending app>:<MSH-10>", occurred_at = "YYYY-MM-DDTHH:MM:SS±HH:MM" (MSH-7),
--     appointment = { id (SCH-2, the filler's id), placer_id (SCH-1), start, stop (TQ1-7/8, else SCH-11.4/5),
--                     duration_minutes?, status (SCH-25), site? (AIL-3.4), service = { code, system, text } (AIS-3) },
--     patient = { mrn (PID-3 of type MR), family_name, given_name,
--                 contact = { phone?, email? }?, consent = { sms = false, email = false }? } }
-- Contact (PID-13 home, then PID-14 business, then PID-40 of v2.7+; each repetition an XTN):
--   phone: the first usable number, a cell phone (XTN-3 "CP") before any other; from XTN-12 (unformatted), else
--          XTN-5/6/7 (country, area, local), else XTN-1; normalised to E.164, "+1" for 10-digit US numbers. Fax,
--          modem, beeper, TDD/TTY, e-mail entries and emergency numbers (XTN-2 "EMR": someone else's) are skipped,
--          and so is a number that cannot be normalised — contact details are a convenience, never a reason to
--          refuse the appointment.
--   email: XTN-4 of an entry whose XTN-3 is "Internet" or "X.400", or whose XTN-2 is "NET".
-- Consent: PD1-12 (protection indicator) "Y" means the patient asked for their data to be protected: consent =
--   { sms = false, email = false }. Anything else says nothing about reminders: consent is left out (unknown).
-- occurred_at orders the events of one appointment: a mapping lets an older one than what it already applied change
-- nothing (two reschedules crossing), so a cancellation that arrives first still wins over the booking that follows.
local hl7 = require("hl7")
local phone = require("lib.phone")

local M = { kind = "source" }

M.EVENTS = {
  SIU = { S12 = "appointment.booked", S13 = "appointment.rescheduled", S14 = "appointment.modified",
          S15 = "appointment.cancelled", S26 = "appointment.no_show" },
  ADT = { A04 = "patient.registered", A08 = "patient.updated" },
}

local function fail(message) error(message, 0) end

-- HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]) → ISO 8601, or nil for an empty value. Needs at least minutes.
function M._timestamp(value, where)
  if value == nil or value == "" then return nil end
  local y, mo, d, h, mi, rest = value:match("^(%d%d%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(.*)$")
  if not y then fail(("%s: '%s' is not an HL7 date-time with at least minutes (YYYYMMDDHHMM)"):format(where, value)) end
  local s, rest2 = rest:match("^(%d%d)(.*)$")
  if s then rest = rest2 else s = "00" end
  rest = rest:gsub("^%.%d+", "")
  local sign, zh, zm = rest:match("^([+-])(%d%d)(%d%d)$")
  if rest ~= "" and not sign then fail(("%s: '%s' has an unreadable time zone"):format(where, value)) end
  return ("%s-%s-%sT%s:%s:%s%s"):format(y, mo, d, h, mi, s, sign and (sign .. zh .. ":" .. zm) or "")
end

-- XTN-3 equipment that cannot take a call or a text message, and XTN-2 uses that are not the patient's own line.
local NOT_A_PHONE = { FX = true, MD = true, BP = true, TDD = true, TTY = true, INTERNET = true, ["X.400"] = true }
local NOT_THEIRS = { EMR = true, NET = true, BPN = true }

-- The patient's phone and e-mail from the XTN repetitions of PID-13, PID-14 and PID-40 (see the header), or nil.
function M._contact(pid)
  local phones, cell, email = {}, nil, nil
  for _, field in ipairs({ 13, 14, 40 }) do
    for repetition in ipairs(pid.fields[field] or {}) do
      local function xtn(component) return hl7.value(pid, field, component, 1, repetition) end
      local use, equipment = xtn(2):upper(), xtn(3):upper()
      if not email and (equipment == "INTERNET" or equipment == "X.400" or use == "NET") then
        email = phone.email(xtn(4))
      end
      if not NOT_A_PHONE[equipment] and not NOT_THEIRS[use] then
        local number
        if xtn(12) ~= "" then number = phone.e164(xtn(12))
        elseif xtn(7) ~= "" then number = phone.e164(xtn(6) .. xtn(7), xtn(5))
        elseif xtn(1) ~= "" then number = phone.e164(xtn(1)) end
        if number then
          phones[#phones + 1] = number
          if equipment == "CP" and not cell then cell = number end
        end
      end
    end
  end
  local contact = { phone = cell or phones[1], email = email }
  if contact.phone == nil and contact.email == nil then return nil end
  return contact
end

-- PD1-12 "Y": protect the patient's data, so no reminders by SMS or e-mail; otherwise unknown (nil).
function M._consent(pd1)
  if pd1 and hl7.value(pd1, 12):upper() == "Y" then return { sms = false, email = false } end
  return nil
end

local function patient(message)
  local pid = hl7.get(message, "PID")
  if not pid then fail("PID: the message has no patient segment") end
  local mrn
  for index, identifier in ipairs(pid.fields[3] or {}) do
    local id, kind = identifier[1] and identifier[1][1] or "", identifier[5] and identifier[5][1] or ""
    if kind == "MR" and id ~= "" then mrn = id; break end
    if index == 1 and id ~= "" then mrn = id end -- no MR type given: the first identifier
  end
  if not mrn then fail("PID-3: the patient has no identifier (an MRN is needed to match the patient in Odoo)") end
  return { mrn = mrn, family_name = hl7.value(pid, 5, 1, 1), given_name = hl7.value(pid, 5, 2),
           contact = M._contact(pid), consent = M._consent(hl7.get(message, "PD1")) }
end

local function minutes(amount, unit)
  local n = tonumber(amount)
  if not n then return nil end
  unit = (unit or ""):lower()
  if unit == "min" or unit == "m" or unit == "" then return n end
  if unit == "h" or unit == "hr" or unit == "hours" then return n * 60 end
  if unit == "s" then return n / 60 end
  return nil
end

local function appointment(message)
  local sch = hl7.get(message, "SCH")
  if not sch then fail("SCH: a scheduling message needs its SCH segment") end
  local id = hl7.value(sch, 2)
  if id == "" then id = hl7.value(sch, 1) end
  if id == "" then fail("SCH-2: the appointment has no filler id (nor SCH-1 placer id)") end
  local start = hl7.get(message, "TQ1-7") or ""
  local stop = hl7.get(message, "TQ1-8") or ""
  if start == "" then start, stop = hl7.value(sch, 11, 4), hl7.value(sch, 11, 5) end
  local ais = hl7.get(message, "AIS")
  local service = ais and { code = hl7.value(ais, 3, 1), text = hl7.value(ais, 3, 2), system = hl7.value(ais, 3, 3) } or nil
  if service and service.code == "" then service = nil end
  local site = hl7.get(message, "AIL-3.4")
  return {
    id = id, placer_id = hl7.value(sch, 1) ~= "" and hl7.value(sch, 1) or nil,
    start = M._timestamp(start, "TQ1-7 (start)"), stop = M._timestamp(stop, "TQ1-8 (end)"),
    duration_minutes = minutes(hl7.value(sch, 9), hl7.value(sch, 10)),
    status = hl7.value(sch, 25) ~= "" and hl7.value(sch, 25) or nil,
    site = site ~= "" and site or nil,
    service = service,
  }
end

function M.decode(body)
  local message, err = hl7.parse(body)
  if not message then fail("not a valid HL7 v2 message: " .. err) end
  local types = M.EVENTS[message.type]
  local event_type = types and types[message.event]
  if not event_type then
    fail(("MSH-9: %s^%s is not a message this source handles (SIU S12/S13/S14/S15/S26, ADT A04/A08)"):format(message.type, message.event))
  end
  local event = {
    type = event_type,
    idempotency_key = ("hl7:%s:%s"):format(message.sending_application, message.control_id),
    occurred_at = M._timestamp(hl7.get(message, "MSH-7"), "MSH-7 (message time)"),
    patient = patient(message),
  }
  if message.type == "SIU" then
    event.appointment = appointment(message)
    if message.event == "S14" and (event.appointment.status or ""):upper() == "COMPLETE" then event.type = "appointment.completed" end
  end
  return { event }
end

return M
