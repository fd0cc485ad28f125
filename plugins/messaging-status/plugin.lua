-- messaging-status: a source plugin for what the SMS provider (Twilio-style) posts back, form-encoded, to one ingest
-- endpoint:
--
--   a status callback  MessageSid, MessageStatus, To, From, AccountSid, ErrorCode   (to the StatusCallback URL the
--                      messaging connector set: …?ref=<appointment id>:<kind>)
--     → message.status { message_sid, status, error_code?, ref, appointment_id, kind, to, occurred_at }
--   an inbound reply   MessageSid, From, To, Body, AccountSid (no MessageStatus)
--     STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT → patient.opted_out { phone }   (Twilio's opt-out keywords)
--     START, YES, UNSTOP                         → patient.opted_in { phone }
--     C, CONFIRM                                 → appointment.confirmed_by_patient, only when the request names the
--                                                  appointment (a ref in its query); see below
--     HELP, INFO, anything else                  → nothing (the provider answers HELP itself)
--
-- As the provider does, a keyword counts only as the whole message ("STOP" opts out, "please stop" does not), in any
-- letter case; Advanced Opt-Out's OptOutType field, when present, decides instead.
--
-- "C" to confirm: an inbound SMS names only the two phone numbers, never the message it answers, and a patient may have
-- several appointments ahead. Guessing the newest would confirm the wrong visit, so without a ref the reply is
-- acknowledged and ignored (logged, number masked); the front desk sees it in the provider's inbox.
--
-- idempotency_key = "twilio:<MessageSid>:<MessageStatus>" ("received" for an inbound reply): the provider repeats a
-- callback it could not deliver, and each status of one message is its own event.
-- The request's signature (X-Twilio-Signature) is the host's to check (the flow's auth block), not this plugin's.
local json = require("json")
local log = require("log")
local time = require("time")
local form = require("lib.form")

local M = { kind = "source" }

M.STATUSES = { queued = true, sending = true, sent = true, delivered = true, undelivered = true, failed = true,
               accepted = true, scheduled = true, read = true, canceled = true, partially_delivered = true }
M.KINDS = { confirmation = true, changed = true, cancelled = true, reminder = true }
M.OPT_OUT = { STOP = true, STOPALL = true, UNSUBSCRIBE = true, CANCEL = true, END = true, QUIT = true }
M.OPT_IN = { START = true, YES = true, UNSTOP = true }
M.CONFIRM = { C = true, CONFIRM = true }

function M._now() return time.iso8601(math.floor(time.now())) end

local function fail(message) error(message, 0) end

local function mask(phone) return "***" .. tostring(phone):sub(-4) end

local function required(fields, name)
  local value = fields[name]
  if value == nil or value == "" then fail(("%s: missing from the provider's request"):format(name)) end
  return value
end

local function sid_at(fields, name)
  local sid = required(fields, name)
  if not sid:match("^[SM]M%x+$") then fail(("%s: %q is not a message SID (SM… or MM…)"):format(name, sid)) end
  return sid
end

local function phone_at(fields, name)
  local phone = required(fields, name)
  if not phone:match("^%+[1-9]%d%d%d%d%d%d+$") or #phone > 16 then
    fail(("%s: expected an E.164 number, got one ending %s"):format(name, mask(phone)))
  end
  return phone
end

local function query_of(ctx)
  local request = type(ctx) == "table" and ctx.request or nil
  local query = type(request) == "table" and request.query or nil
  return type(query) == "table" and query ~= json.null and query or {}
end

-- "<appointment id>:<kind>" (the id may itself hold ':'; the kind is after the last one).
function M._ref(text)
  if type(text) ~= "string" or text == "" then return nil end
  local id, kind = text:match("^(.+):([%w_]+)$")
  if not id then fail(("query parameter ref: %q is not <appointment id>:<kind>"):format(text)) end
  if not M.KINDS[kind] then
    fail(("query parameter ref: kind %q is not confirmation, changed, cancelled or reminder"):format(kind))
  end
  return { ref = text, appointment_id = id, kind = kind }
end

local function check_account(fields, ctx)
  local expected = type(ctx) == "table" and type(ctx.config) == "table" and ctx.config.account_sid or nil
  if type(expected) ~= "string" then return end
  required(fields, "AccountSid")
  if fields.AccountSid ~= expected then
    fail(("AccountSid: %q is not this entry's account (config.account_sid)"):format(tostring(fields.AccountSid)))
  end
end

local function status_event(fields, ctx)
  local sid = sid_at(fields, "MessageSid")
  local status = fields.MessageStatus
  if not M.STATUSES[status] then fail(("MessageStatus: %q is not a message status the provider sends"):format(status)) end
  local error_code
  if fields.ErrorCode ~= nil and fields.ErrorCode ~= "" then
    error_code = math.tointeger(tonumber(fields.ErrorCode:match("^%d+$") or ""))
    if not error_code then fail(("ErrorCode: %q is not a numeric error code"):format(fields.ErrorCode)) end
  end
  local ref = M._ref(query_of(ctx).ref)
  if not ref then
    log.warn("status callback without ref: not one of our appointment messages, ignored", { message_sid = sid, status = status })
    return json.array({})
  end
  return { {
    type = "message.status", idempotency_key = ("twilio:%s:%s"):format(sid, status), occurred_at = M._now(),
    message_sid = sid, status = status, error_code = error_code,
    ref = ref.ref, appointment_id = ref.appointment_id, kind = ref.kind,
    to = fields.To ~= "" and fields.To or nil,
  } }
end

local function inbound_event(fields, ctx)
  local sid = sid_at(fields, "MessageSid")
  local phone = phone_at(fields, "From")
  local keyword = (fields.Body or ""):match("^%s*(%S+)%s*$")
  keyword = keyword and keyword:upper() or ""
  local opt = (fields.OptOutType or ""):upper()
  local base = { idempotency_key = ("twilio:%s:received"):format(sid), occurred_at = M._now(), phone = phone, message_sid = sid }
  local function event(type_name)
    base.type, base.keyword = type_name, keyword ~= "" and keyword or nil
    return { base }
  end
  if opt == "STOP" or (opt == "" and M.OPT_OUT[keyword]) then return event("patient.opted_out") end
  if opt == "START" or (opt == "" and M.OPT_IN[keyword]) then return event("patient.opted_in") end
  if M.CONFIRM[keyword] then
    local ref = M._ref(query_of(ctx).ref)
    if ref then
      base.appointment_id, base.ref, base.kind = ref.appointment_id, ref.ref, ref.kind
      return event("appointment.confirmed_by_patient")
    end
    log.info("reply C ignored: an inbound SMS does not say which appointment it answers (no ref); the front desk sees it in the provider's inbox",
      { message_sid = sid, from = mask(phone) })
    return json.array({})
  end
  log.info("inbound SMS that is no keyword this source acts on: ignored", { message_sid = sid, from = mask(phone) })
  return json.array({})
end

function M.decode(body, ctx)
  local fields = form.decode(body)
  check_account(fields, ctx)
  if fields.MessageStatus ~= nil then return status_event(fields, ctx) end
  if fields.Body ~= nil or fields.OptOutType ~= nil then return inbound_event(fields, ctx) end
  fail("MessageStatus: missing, and no Body either: neither a status callback nor an inbound message")
end

return M
