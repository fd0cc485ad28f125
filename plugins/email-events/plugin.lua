-- email-events: a source plugin for SendGrid's Event Webhook, the e-mail counterpart of messaging-status. SendGrid
-- posts a JSON array of events; the custom_args the messaging connector set on the send ({ref = "<appointment
-- id>:<kind>"}) come back as top-level fields of each event. Per event, in the array's order:
--
--   processed → message.status status "sent"        delivered → message.status status "delivered"
--   bounce, dropped → message.status status "failed" (error_code: the SMTP status "5.1.1", else the bounce type)
--     message.status = { channel = "email", message_sid, status, error_code?, ref, appointment_id, kind, to,
--                        occurred_at }   -- the shape messaging-status gives for SMS, plus channel
--   unsubscribe, group_unsubscribe, spamreport → patient.opted_out { email, channel = "email", keyword, message_sid? }
--   group_resubscribe                         → patient.opted_in  { email, channel = "email", keyword, message_sid? }
--   deferred (SendGrid retries on its own: interim), open, click → nothing. We do not track reading: opens and clicks
--   are dropped unlogged, whatever they carry.
--   any other event name → nothing, logged: SendGrid adds event types, and refusing one would dead-letter the whole
--   batch with the delivery reports in it.
--
-- message_sid is SendGrid's message id (X-Message-Id of the send: sg_message_id up to its first '.'), under the SMS
-- field's name so message-status-odoo reads both channels alike. A delivery event without a ref is not one of our
-- appointment e-mails: it yields nothing (logged). Opt-outs need no ref: they are about the address, not a message.
-- The bounce's `reason` (the remote server's text, which often quotes the address) is not carried.
--
-- idempotency_key = "sendgrid:<sg_event_id>" (SendGrid's unique id per event; it re-posts a batch it could not
-- deliver). occurred_at is the event's own timestamp. The signature (X-Twilio-Email-Event-Webhook-Signature, ECDSA) is
-- the host's to check before this runs. A malformed event refuses the batch, permanently, naming its JSON path
-- ($[3].timestamp) and never echoing an address.
local json = require("json")
local log = require("log")
local time = require("time")
local conflux = require("conflux")

local M = { kind = "source" }

M.STATUS = { processed = "sent", delivered = "delivered", bounce = "failed", dropped = "failed" }
M.OPT_OUT = { unsubscribe = true, group_unsubscribe = true, spamreport = true }
M.OPT_IN = { group_resubscribe = true }
M.IGNORED = { deferred = "interim: SendGrid retries a deferred e-mail itself", open = true, click = true }
M.KINDS = { confirmation = true, changed = true, cancelled = true, reminder = true }

local function fail(path, message) error(conflux.permanent(path .. ": " .. message), 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  local kind = math.type(value) or type(value)
  return ("%s %s (%s)"):format(kind == "integer" and "an" or "a", kind, tostring(value))
end

local function absent(value) return value == nil or value == json.null or value == "" end

-- "j***@example.org": enough for the front desk to recognise the address, not to read it out.
function M._mask(address)
  if type(address) ~= "string" then return "?" end
  local first, domain = address:match("^([^@])[^@]*@(.+)$")
  if not first then return ("***(%d characters)"):format(#address) end
  return ("%s***@%s"):format(first, domain)
end

local function string_at(value, path)
  if absent(value) then fail(path, "missing") end
  if type(value) ~= "string" then fail(path, "expected a string, got " .. describe_value(value)) end
  return value
end

local function email_at(value, path)
  local address = string_at(value, path)
  if #address > 254 or not address:match("^[^%s@]+@[^%s@]+%.[^%s@.]+$") then
    fail(path, ("not an e-mail address (%s)"):format(M._mask(address)))
  end
  return address
end

-- SendGrid's event ids are base64url-like; they become part of our idempotency key.
local function event_id_at(value, path)
  local id = string_at(value, path)
  if #id > 100 or not id:match("^[%w_%-=+/]+$") then fail(path, ("%q is not a SendGrid event id"):format(id)) end
  return id
end

-- "LRzXl66aRuSVZ1q0Bq0VmQ.filterdrecv-…" → "LRzXl66aRuSVZ1q0Bq0VmQ", the X-Message-Id the send returned. It ends up
-- in an Odoo external id (the note's key), so it may hold letters, digits, '_' and '-' only.
local function message_id_at(value, path)
  local full = string_at(value, path)
  local id = full:match("^[^.]*")
  if id == "" or #id > 64 or not id:match("^[%w_%-]+$") then
    fail(path, ("%q does not start with a SendGrid message id (letters, digits, '_', '-' before the first '.')"):format(full))
  end
  return id
end

local function timestamp_at(value, path)
  if absent(value) then fail(path, "missing") end
  if math.type(value) ~= "integer" or value <= 0 then
    fail(path, "expected epoch seconds (a positive integer), got " .. describe_value(value))
  end
  return time.iso8601(value)
end

-- "<appointment id>:<kind>" (the id may itself hold ':'; the kind is after the last one), as messaging-status reads it.
local function ref_at(value, path)
  if absent(value) then return nil end
  local text = string_at(value, path)
  local id, kind = text:match("^(.+):([%w_]+)$")
  if not id then fail(path, ("%q is not <appointment id>:<kind>"):format(text)) end
  if not M.KINDS[kind] then fail(path, ("kind %q is not confirmation, changed, cancelled or reminder"):format(kind)) end
  return { ref = text, appointment_id = id, kind = kind }
end

local function error_code_of(item, path)
  for _, name in ipairs({ "status", "type" }) do
    local value = item[name]
    if not absent(value) then
      local code = string_at(value, path .. "." .. name)
      if #code > 32 or not code:match("^[%w_.%-]+$") then -- not echoed: free text here may quote the address
        fail(path .. "." .. name, ("not an SMTP status (5.1.1) or bounce type (a string of %d characters)"):format(#code))
      end
      return code
    end
  end
  return nil
end

local function status_event(item, path, base, status)
  local message_sid = message_id_at(item.sg_message_id, path .. ".sg_message_id")
  local to = email_at(item.email, path .. ".email")
  local ref = ref_at(item.ref, path .. ".ref")
  if not ref then
    log.info("e-mail event without a ref: not one of our appointment e-mails (custom_args.ref), ignored",
      { sg_event_id = base.sg_event_id, event = item.event, message_sid = message_sid })
    return nil
  end
  return {
    type = "message.status", idempotency_key = base.idempotency_key, occurred_at = base.occurred_at,
    channel = "email", message_sid = message_sid, status = status,
    error_code = status == "failed" and error_code_of(item, path) or nil,
    ref = ref.ref, appointment_id = ref.appointment_id, kind = ref.kind, to = to,
  }
end

local function consent_event(item, path, base, type_name)
  return {
    type = type_name, idempotency_key = base.idempotency_key, occurred_at = base.occurred_at,
    channel = "email", email = email_at(item.email, path .. ".email"), keyword = item.event,
    message_sid = not absent(item.sg_message_id) and message_id_at(item.sg_message_id, path .. ".sg_message_id") or nil,
  }
end

local function decode_one(item, path)
  if type(item) ~= "table" or json.is_array(item) then fail(path, "expected an event object, got " .. describe_value(item)) end
  local name = string_at(item.event, path .. ".event")
  if M.IGNORED[name] then return nil end
  local status = M.STATUS[name]
  local consent = M.OPT_OUT[name] and "patient.opted_out" or M.OPT_IN[name] and "patient.opted_in" or nil
  if not status and not consent then
    log.warn("SendGrid event type this source does not know: ignored", { event = name, path = path })
    return nil
  end
  local event_id = event_id_at(item.sg_event_id, path .. ".sg_event_id")
  local base = { sg_event_id = event_id, idempotency_key = "sendgrid:" .. event_id,
                 occurred_at = timestamp_at(item.timestamp, path .. ".timestamp") }
  if status then return status_event(item, path, base, status) end
  return consent_event(item, path, base, consent)
end

function M.decode(body, ctx)
  if type(body) ~= "string" or body:match("^%s*$") then fail("$", "the body is empty (expected a JSON array of SendGrid events)") end
  local ok, batch = pcall(json.decode, body)
  if not ok then fail("$", "not JSON: " .. tostring(batch):gsub("^json%.decode: ", "")) end
  if type(batch) ~= "table" or not json.is_array(batch) then
    fail("$", "expected a JSON array of SendGrid events, got " .. describe_value(batch))
  end
  local events = {}
  for i, item in ipairs(batch) do
    events[#events + 1] = decode_one(item, ("$[%d]"):format(i - 1))
  end
  return json.array(events)
end

return M
