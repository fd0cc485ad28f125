-- message-status-odoo: a mapping plugin. Delivery reports (`message.status`: SMS from messaging-status, e-mail from
-- email-events with channel = "email") become a line in the appointment's chatter in Odoo and its reminder status,
-- through the `odoo` connector:
--
--   { op = "note", key = "conflux.msgstatus_<sid>_<status>", model = "calendar.event",
--     record = { xmlid = "conflux.appointment_<appointment id>" },
--     body = "Appointment reminder (SMS to ***0123): delivered" }               (message_post, a note)
--          or "Appointment reminder (e-mail to j***@example.org): failed (SMTP 5.1.1)"
--   { op = "update", model = "calendar.event", key = "conflux.appointment_<appointment id>",
--     values = { x_reminder_status = "sent" | "delivered" | "failed" | "opted_out" } }
--
-- The note says which message (by kind), to which number (last four digits only) or address (first letter and domain)
-- and what happened; never the text, which the chatter does not need. Interim statuses (queued, accepted, scheduled,
-- sending) are skipped. An event without `channel` is SMS (messaging-status does not set it). An e-mail's error_code
-- is SendGrid's SMTP status ("5.1.1") or bounce type ("blocked"); opted_out comes only from Twilio's 21610 — an e-mail
-- opt-out arrives as patient.opted_out, not as a delivery status.
--
-- Callbacks arrive out of order (a `sent` after its `delivered`): the ledger keeps per message the furthest status
-- applied, and an earlier one still gets its note (the chatter is a history) but does not set the field back.
-- x_reminder_status follows the newest report of any of the appointment's messages (confirmation, change, reminder).
-- Twilio SIDs (34 characters, SM…) and SendGrid message ids (22) share the ledger's "msg:" keys without colliding.
local json = require("json")
local ledger = require("ledger")

local M = { kind = "mapping" }

function M._ledger_get(key) return ledger.get(key) end
function M._ledger_put(key, value) return ledger.put(key, value) end

-- How far a message got; a later report with a lower rank is older news.
M.RANK = { sent = 2, partially_delivered = 2, delivered = 3, undelivered = 3, failed = 3, canceled = 3, read = 4 }
M.INTERIM = { queued = true, accepted = true, scheduled = true, sending = true }
M.FIELD = { sent = "sent", partially_delivered = "sent", delivered = "delivered", read = "delivered",
            undelivered = "failed", failed = "failed", canceled = "failed" }
M.LABELS = { confirmation = "Appointment confirmation", changed = "Appointment change notice",
             cancelled = "Cancellation notice", reminder = "Appointment reminder" }
M.OPTED_OUT = 21610
M.CHANNELS = { sms = "SMS", email = "e-mail" }

local function fail(message) error(message, 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  return ("a %s"):format(type(value))
end

-- Both end up in Odoo external ids, whose names take letters, digits, '_', '.' and '-'.
local function key_part_at(value, path)
  if type(value) ~= "string" or not value:match("^[%w_.%-]+$") then
    fail(("%s: expected an id of letters, digits, '_', '.' or '-' (it becomes part of an Odoo external id), got %s")
      :format(path, describe_value(value)))
  end
  return value
end

-- "j***@example.org"; nothing when the report has no usable address.
local function masked_address(to)
  if type(to) ~= "string" then return nil end
  local first, domain = to:match("^([^@%s])[^@%s]*@([^@%s]+)$")
  return first and ("%s***@%s"):format(first, domain) or nil
end

local function email_outcome_text(status, code)
  if code and code:match("^%d%.%d+%.%d+$") then return ("%s (SMTP %s)"):format(status, code) end
  if code then return ("%s (%s)"):format(status, code) end
  return status
end

-- SendGrid's SMTP status or bounce type; it goes into the note, so only a short code, never free text.
local function email_code_at(code)
  if code ~= nil and (type(code) ~= "string" or #code > 32 or not code:match("^[%w_.%-]+$")) then
    fail(("$.error_code: expected an SMTP status (5.1.1) or bounce type for an e-mail, got %s"):format(describe_value(code)))
  end
  return code
end

local function outcome_text(status, code)
  if code == M.OPTED_OUT then return ("not delivered: the patient opted out (Twilio %d)"):format(code) end
  if code then return ("%s (Twilio %d)"):format(status, code) end
  return status
end

function M.map(event, ctx)
  if type(event) ~= "table" or event.type ~= "message.status" then
    fail(("$.type: expected a message.status event, got %s"):format(describe_value(type(event) == "table" and event.type or event)))
  end
  local sid = key_part_at(event.message_sid, "$.message_sid")
  local status = event.status
  if M.INTERIM[status] then return { skip = ("interim status %s: nothing to record"):format(status) } end
  if not M.RANK[status] then fail(("$.status: %s is not a delivery status"):format(describe_value(status))) end
  local appointment = key_part_at(event.appointment_id, "$.appointment_id")
  local label = M.LABELS[event.kind]
  if not label then fail(("$.kind: %s is not confirmation, changed, cancelled or reminder"):format(describe_value(event.kind))) end
  local channel = event.channel
  if channel == nil or channel == json.null then channel = "sms" end
  if not M.CHANNELS[channel] then fail(("$.channel: %s is not sms or email"):format(describe_value(event.channel))) end
  local code = event.error_code
  if code == json.null then code = nil end
  local to, outcome
  if channel == "email" then
    code = email_code_at(code)
    to, outcome = masked_address(event.to), email_outcome_text(status, code)
  else
    if code ~= nil and math.type(code) ~= "integer" then fail(("$.error_code: expected an integer, got %s"):format(describe_value(code))) end
    to = type(event.to) == "string" and event.to:match("(%d%d%d%d)$")
    to, outcome = to and ("***" .. to), outcome_text(status, code)
  end

  local record_key = "conflux.appointment_" .. appointment
  local operations = { {
    op = "note", key = ("conflux.msgstatus_%s_%s"):format(sid, status), model = "calendar.event",
    record = { xmlid = record_key },
    body = ("%s (%s%s): %s"):format(label, M.CHANNELS[channel], to and (" to " .. to) or "", outcome),
  } }
  local seen = M._ledger_get("msg:" .. sid)
  if not seen or M.RANK[status] >= seen.rank then
    operations[2] = { op = "update", model = "calendar.event", key = record_key,
                      values = { x_reminder_status = (channel == "sms" and code == M.OPTED_OUT) and "opted_out" or M.FIELD[status] } }
    M._ledger_put("msg:" .. sid, { rank = M.RANK[status], status = status, appointment = appointment })
  end
  return { operations = operations }
end

return M
