-- messaging: a connector plugin. Delivers patient-reminders' `send` operations as SMS through a Twilio-style REST API,
-- and those with channel "email" through SendGrid's v3 Mail Send API (see "E-mail" below):
--
--   POST <config.url>/2010-04-01/Accounts/<config.account_sid>/Messages.json
--   Authorization: Basic <account_sid:auth token>   (secret.basic: the host encodes it at send time; the token never
--                                                     enters Lua)
--   Content-Type: application/x-www-form-urlencoded
--   To=<E.164>&From=<config.from> | MessagingServiceSid=<config.messaging_service_sid>&Body=…&StatusCallback=<url>?ref=…
--
-- The operation: { op = "send", key, channel = "sms", to, body, ref } or { op = "send", key, channel = "email", to,
-- subject, body, ref } (or { skip = reason }: nothing is sent, or { operations = { … } }). The answer: { sid, status,
-- key, ref } for an SMS, { message_id, status = "accepted", key, ref, channel = "email" } for an e-mail — with
-- duplicate = true when the key was delivered before (whichever channel: the ledger is one, keyed by op.key).
--
-- StatusCallback carries `ref` (appointment id and message kind) in its query, so the provider's delivery reports
-- come back to `messaging-status` naming the appointment without this plugin keeping a sid → appointment table.
--
-- Errors (Twilio's 4xx body: {"code": 21610, "message": …, "more_info": …, "status": 400}):
--   21610 (the recipient replied STOP), 21211 (invalid To), 21408 (region not enabled), 21612 (not reachable from this
--   sender), 21614 (not a mobile number), 401/403 and any other 4xx   → permanent, with the code
--   429 / 20429 (too many requests), 5xx, no answer (timeout, refused)  → retryable (http.request raises 429/5xx itself
--                                                                        with the provider's Retry-After)
-- Phone numbers in the provider's error text are masked to their last four digits.
--
-- E-mail (SendGrid v3; another origin than the SMS API in production, so its own config key):
--   POST <config.email_url>/v3/mail/send
--   Authorization: Bearer <secret config.email_api_key_secret, default messaging/sendgrid_api_key>
--   {"personalizations":[{"to":[{"email":…}],"custom_args":{"ref":…}}],"from":{"email":<config.email_from>,
--    "name":<config.email_from_name>},"subject":…,"content":[{"type":"text/plain","value":…}],
--    "tracking_settings":{"subscription_tracking":{"enable":true},"open_tracking":{"enable":false},
--                         "click_tracking":{"enable":false,"enable_text":false}}}
-- custom_args come back on every event SendGrid posts about the message (delivered, bounce, unsubscribe, …), so those
-- name the appointment as StatusCallback's ref does for SMS. Success is 202 with an empty body and X-Message-Id.
--   400 / 413 {"errors":[{"message","field","help"}]}, 401 / 403, any other 4xx → permanent, with message and field
--   429, 5xx → retryable, carrying Retry-After (seconds) as retry_after_ms for the backoff; no answer → retryable
-- Addresses in errors and in the ledger are masked to their first character and domain (j***@example.org).
local http = require("http")
local json = require("json")
local conflux = require("conflux")
local ledger = require("ledger")
local log = require("log")
local time = require("time")
local form = require("lib.form")

local M = { kind = "connector" }

M.API_VERSION = "2010-04-01"
M.MAX_BODY = 1600                -- Twilio's limit for a message body, in characters
M.TIMEOUT_MS = 15000
M.DEFAULT_SECRET = "messaging/auth_token"
M.EMAIL_PATH = "/v3/mail/send"
M.DEFAULT_EMAIL_SECRET = "messaging/sendgrid_api_key"
M.MAX_SUBJECT = 998              -- RFC 5322's line limit; a subject is one header line
M.MAX_RETRY_AFTER_MS = 86400000  -- the host honours at most a day

-- The transport and the ledger, replaceable in specs (plugin tests have no network and no store).
function M._send(request) return http.request(request) end
function M._ledger_get(key) return ledger.get(key) end
function M._ledger_put(key, value) return ledger.put(key, value) end

local function permanent(message) error(conflux.permanent(message), 0) end
local function retryable(message) error(conflux.retryable(message), 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(#value > 40 and value:sub(1, 40) .. "…" or value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function is_object(value) return type(value) == "table" and value ~= json.null and not json.is_array(value) end

local E164 = "^%+[1-9]%d%d%d%d%d%d+$"

-- "+15555550123" → "***0123": enough for a person to tell numbers apart in a log, not enough to text anyone.
function M._mask_phone(number) return "***" .. tostring(number):sub(-4) end

-- "jane.doe@example.org" → "j***@example.org": the domain helps tell a provider's problem from a typo, the first
-- character tells two addresses of one message apart; nobody can be written to with it.
function M._mask_email(address)
  local first, domain = tostring(address):match("^([^@])[^@]*@([^@]+)$")
  if not first then return "***" end
  return ("%s***@%s"):format(first, domain)
end

-- Every address and every phone-number-like run of digits in a text, masked.
function M._mask_text(text)
  local masked = tostring(text):gsub("[%w.!#$%%&'*+/=?^_`{|}~-]+@[%w-]+%.[%w.-]+", M._mask_email)
  return (masked:gsub("[%+%(]?%d[%d%-%.%(%) ]+%d", function(run)
    local digits = run:gsub("%D", "")
    if #digits < 7 then return run end
    return M._mask_phone(digits)
  end))
end

-- name@domain.tld without spaces or control characters (what patient-reminders sends), at most 254 bytes.
local EMAIL = "^[^%s%c@]+@[^%s%c@]+%.[^%s%c@.]+$"
local function is_email(value) return type(value) == "string" and #value <= 254 and value:match(EMAIL) ~= nil end

local function config_table(ctx, needs)
  local c = type(ctx) == "table" and ctx.config or nil
  if not is_object(c) then permanent(("ctx.config: missing; the catalog entry's config: block must give %s"):format(needs)) end
  return c
end

local function timeout_of(c) return math.tointeger(c.timeout_ms) or M.TIMEOUT_MS end

-- The SMS settings; read only when an SMS is to be sent.
local function sms_config(ctx)
  local c = config_table(ctx, "url, account_sid, from or messaging_service_sid, status_callback_url")
  if type(c.url) ~= "string" or not c.url:match("^https?://[^/?#]+") then
    permanent(("ctx.config.url: expected the provider's origin like https://api.twilio.com, got %s"):format(describe_value(c.url)))
  end
  if type(c.account_sid) ~= "string" or not c.account_sid:match("^AC%w+$") then
    permanent(("ctx.config.account_sid: expected the account SID (AC…), got %s"):format(describe_value(c.account_sid)))
  end
  local from, service = c.from, c.messaging_service_sid
  if from ~= nil and (type(from) ~= "string" or not from:match(E164)) then
    permanent(("ctx.config.from: expected the sending number in E.164, got %s"):format(describe_value(from)))
  end
  if service ~= nil and (type(service) ~= "string" or not service:match("^MG%w+$")) then
    permanent(("ctx.config.messaging_service_sid: expected a Messaging Service SID (MG…), got %s"):format(describe_value(service)))
  end
  if (from == nil) == (service == nil) then
    permanent("ctx.config: give exactly one of from (a number) and messaging_service_sid")
  end
  local callback = c.status_callback_url
  if callback ~= nil and (type(callback) ~= "string" or not callback:match("^https?://[^/?#]+")) then
    permanent(("ctx.config.status_callback_url: expected an http(s) URL, got %s"):format(describe_value(callback)))
  end
  local secret_name = c.auth_token_secret or M.DEFAULT_SECRET
  if type(secret_name) ~= "string" or secret_name == "" then
    permanent(("ctx.config.auth_token_secret: expected a secret name, got %s"):format(describe_value(secret_name)))
  end
  return { url = (c.url:gsub("/+$", "")), account_sid = c.account_sid, from = from, service = service,
           callback = callback, secret = secret_name, timeout_ms = timeout_of(c) }
end

-- The e-mail settings; read only when an e-mail is to be sent, so an SMS-only deployment needs none.
local function email_config(ctx)
  local c = config_table(ctx, "email_url, email_from, email_from_name")
  if type(c.email_url) ~= "string" or not c.email_url:match("^https?://[^/?#]+") then
    permanent(("ctx.config.email_url: expected the e-mail provider's origin like https://api.sendgrid.com, got %s"):format(describe_value(c.email_url)))
  end
  if not is_email(c.email_from) then
    permanent(("ctx.config.email_from: expected the sender's address like appointments@northside-clinics.example, got %s"):format(describe_value(c.email_from)))
  end
  local name = c.email_from_name
  if name ~= nil and (type(name) ~= "string" or name == "" or name:find("%c")) then
    permanent(("ctx.config.email_from_name: expected the name patients see as the sender, got %s"):format(describe_value(name)))
  end
  local secret_name = c.email_api_key_secret or M.DEFAULT_EMAIL_SECRET
  if type(secret_name) ~= "string" or secret_name == "" then
    permanent(("ctx.config.email_api_key_secret: expected a secret name, got %s"):format(describe_value(secret_name)))
  end
  return { url = (c.email_url:gsub("/+$", "")), from = c.email_from, from_name = name, secret = secret_name,
           timeout_ms = timeout_of(c) }
end

local function check_text(value, where, what)
  if type(value) ~= "string" or value == "" then permanent(("%s: expected %s, got %s"):format(where, what, describe_value(value))) end
  local length = utf8.len(value)
  if not length then permanent(where .. ": not valid UTF-8") end
  return length
end

local function check_email(op, where)
  if not is_email(op.to) then
    permanent(("%s.to: expected an e-mail address like name@example.org, got %s"):format(where,
      type(op.to) == "string" and "a string that is not one" or describe_value(op.to)))
  end
  local length = check_text(op.subject, where .. ".subject", "the subject line")
  if op.subject:find("%c") then permanent(where .. ".subject: one line without control characters (a CR or LF would start a header)") end
  if length > M.MAX_SUBJECT then
    permanent(("%s.subject: %d characters; a subject line takes at most %d"):format(where, length, M.MAX_SUBJECT))
  end
  check_text(op.body, where .. ".body", "the message text")
end

local function check_send(op, where)
  if type(op.key) ~= "string" or op.key == "" or #op.key > 400 then
    permanent(("%s.key: expected a non-empty string of at most 400 bytes, got %s"):format(where, describe_value(op.key)))
  end
  if op.ref ~= nil and (type(op.ref) ~= "string" or op.ref == "") then
    permanent(("%s.ref: expected a string naming the appointment and kind, got %s"):format(where, describe_value(op.ref)))
  end
  if op.channel == "email" then return check_email(op, where) end
  if op.channel ~= "sms" then
    permanent(("%s.channel: expected \"sms\" or \"email\", got %s"):format(where, describe_value(op.channel)))
  end
  if type(op.to) ~= "string" or not op.to:match(E164) or #op.to > 16 then
    permanent(("%s.to: expected an E.164 number like +15555550123, got %s"):format(where,
      type(op.to) == "string" and ("a number ending " .. M._mask_phone(op.to)) or describe_value(op.to)))
  end
  local length = check_text(op.body, where .. ".body", "the message text")
  if length > M.MAX_BODY then
    permanent(("%s.body: %d characters; the provider takes at most %d"):format(where, length, M.MAX_BODY))
  end
end

-- The StatusCallback URL with the reference in its query.
function M._callback_url(base, ref)
  if not base then return nil end
  if not ref then return base end
  return ("%s%sref=%s"):format(base, base:find("?", 1, true) and "&" or "?", form.query_component(ref))
end

-- Twilio's codes that no retry can change, with what they mean for the clinic.
M.PERMANENT_CODES = {
  [21610] = "recipient has opted out (Twilio 21610)",
  [21211] = "invalid 'To' phone number (Twilio 21211)",
  [21408] = "sending to this region is not enabled (Twilio 21408)",
  [21612] = "the 'To' number cannot be reached from this sender (Twilio 21612)",
  [21614] = "the 'To' number is not a mobile number (Twilio 21614)",
}

local function provider_error(response, op, c)
  local body = response.json
  if body == nil and type(response.body) == "string" then
    local ok, decoded = pcall(json.decode, response.body)
    if ok then body = decoded end
  end
  local code = is_object(body) and math.tointeger(body.code) or nil
  local detail = is_object(body) and body.message ~= nil and M._mask_text(body.message)
    or M._mask_text(tostring(response.body or ""):sub(1, 300))
  local what = ("SMS %s to %s not sent"):format(op.ref or op.key, M._mask_phone(op.to))
  local status = response.status
  if status == 429 or code == 20429 then retryable(("%s: provider busy, too many requests (HTTP %d, Twilio 20429)"):format(what, status)) end
  if status >= 500 then retryable(("%s: provider answered HTTP %d%s"):format(what, status, code and (" (Twilio " .. code .. ")") or "")) end
  if code and M.PERMANENT_CODES[code] then permanent(("%s: %s"):format(what, M.PERMANENT_CODES[code])) end
  if status == 401 or status == 403 then
    permanent(("%s: the provider refused the credentials (HTTP %d%s); check config.account_sid and the secret %s")
      :format(what, status, code and (", Twilio " .. code) or "", c.secret))
  end
  permanent(("%s: HTTP %d%s: %s"):format(what, status, code and (" Twilio " .. code) or "", detail))
end

-- At least once, and once per key where we can: a key already delivered (by either channel) is answered from the
-- ledger, as what was sent then.
local function delivered(op)
  local done = M._ledger_get("sent:" .. op.key)
  if not done then return nil end
  if done.channel == "email" then
    return { message_id = done.message_id or json.null, status = done.status, key = op.key, ref = op.ref, channel = "email", duplicate = true }
  end
  return { sid = done.sid, status = done.status, key = op.key, ref = op.ref, duplicate = true }
end

local function send_sms(op, c)
  local ledger_key = "sent:" .. op.key
  local response = M._send({
    method = "POST",
    url = ("%s/%s/Accounts/%s/Messages.json"):format(c.url, M.API_VERSION, c.account_sid),
    headers = {
      ["Authorization"] = secret.join("Basic ", secret.basic(c.account_sid, secret(c.secret))),
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Accept"] = "application/json",
    },
    body = form.encode({
      { "To", op.to }, { "From", c.from }, { "MessagingServiceSid", c.service }, { "Body", op.body },
      { "StatusCallback", M._callback_url(c.callback, op.ref) },
    }),
    timeout_ms = c.timeout_ms,
  })
  if response.status < 200 or response.status >= 300 then provider_error(response, op, c) end
  local body = is_object(response.json) and response.json or {}
  local sid = type(body.sid) == "string" and body.sid or nil
  local status = type(body.status) == "string" and body.status or "queued"
  if not sid then
    -- Accepted all the same: recording it stops a redelivery from texting the patient twice.
    log.warn("the provider accepted a message without a sid in its answer", { key = op.key, status = response.status })
  end
  -- Crash window: a crash (or a lost store write) between the provider's 2xx above and this write means the
  -- redelivery sends the message again. The provider has no idempotency key for new messages, so this is the
  -- narrowest the window gets; one duplicate reminder is the accepted cost of never losing one.
  M._ledger_put(ledger_key, { sid = sid, status = status, ref = op.ref, to = M._mask_phone(op.to), sent_at = time.iso8601() })
  return { sid = sid or json.null, status = status, key = op.key, ref = op.ref }
end

-- SendGrid's {"errors":[{"message","field","help"}]} as one line: "message (field x); …", addresses masked.
local function email_error_detail(response)
  local body = response.json
  if body == nil and type(response.body) == "string" and response.body ~= "" then
    local ok, decoded = pcall(json.decode, response.body)
    if ok then body = decoded end
  end
  local parts = {}
  if is_object(body) and type(body.errors) == "table" and json.is_array(body.errors) then
    for _, item in ipairs(body.errors) do
      if is_object(item) and type(item.message) == "string" then
        local field = type(item.field) == "string" and item.field ~= "" and (" (field %s)"):format(item.field) or ""
        parts[#parts + 1] = item.message .. field
      end
    end
  end
  if #parts == 0 then
    local raw = tostring(response.body or ""):sub(1, 300)
    return M._mask_text(raw ~= "" and raw or "no details")
  end
  return M._mask_text(table.concat(parts, "; "))
end

local function email_error(response, op, c)
  local what = ("E-mail %s to %s not sent"):format(op.ref or op.key, M._mask_email(op.to))
  local status = response.status
  if status == 429 or status >= 500 then
    -- Retryable with the provider's Retry-After (seconds), as http.request raises it on the SMS path; here the
    -- request is made with raise = false so the message can name the e-mail.
    local headers = type(response.headers) == "table" and response.headers or {}
    local wait = tonumber(headers["retry-after"] or "")
    local reason = status == 429 and "provider busy, too many requests (HTTP 429)" or ("provider answered HTTP %d"):format(status)
    error({ message = ("%s: %s"):format(what, reason), retryable = true,
            retry_after_ms = wait and wait >= 0 and math.min(math.floor(wait * 1000), M.MAX_RETRY_AFTER_MS) or nil }, 0)
  end
  local detail = email_error_detail(response)
  if status == 401 or status == 403 then
    permanent(("%s: the provider refused the API key (HTTP %d: %s); check the secret %s"):format(what, status, detail, c.secret))
  end
  permanent(("%s: HTTP %d: %s"):format(what, status, detail))
end

local function send_email(op, c)
  local personalization = { to = { { email = op.to } } }
  if op.ref then personalization.custom_args = { ref = op.ref } end
  local response = M._send({
    method = "POST",
    url = c.url .. M.EMAIL_PATH,
    headers = {
      ["Authorization"] = secret.join("Bearer ", secret(c.secret)),
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
    },
    body = json.encode({
      personalizations = { personalization },
      from = { email = c.from, name = c.from_name },
      subject = op.subject,
      content = { { type = "text/plain", value = op.body } },
      -- SendGrid adds its unsubscribe link (the body promises one) and records the unsubscribe it leads to; opens and
      -- clicks are not tracked: a patient's reading is not ours to watch (and open pixels leak to mail providers).
      tracking_settings = {
        subscription_tracking = { enable = true },
        open_tracking = { enable = false },
        click_tracking = { enable = false, enable_text = false },
      },
    }),
    timeout_ms = c.timeout_ms,
    raise = false,
  })
  if response.status < 200 or response.status >= 300 then email_error(response, op, c) end
  local headers = type(response.headers) == "table" and response.headers or {}
  local id = headers["x-message-id"]
  if type(id) ~= "string" or id == "" then
    id = nil
    log.warn("the e-mail provider accepted a message without X-Message-Id", { key = op.key, status = response.status })
  end
  -- The same crash window as for SMS (send_sms): SendGrid has no idempotency key either.
  M._ledger_put("sent:" .. op.key, { channel = "email", message_id = id, status = "accepted", ref = op.ref,
                                     to = M._mask_email(op.to), sent_at = time.iso8601() })
  return { message_id = id or json.null, status = "accepted", key = op.key, ref = op.ref, channel = "email" }
end

local function run(op, configs, where)
  if not is_object(op) then permanent(("%s: expected an operation object, got %s"):format(where, describe_value(op))) end
  if op.skip ~= nil then
    if type(op.skip) ~= "string" or op.skip == "" then
      permanent(("%s.skip: expected the reason nothing is sent, got %s"):format(where, describe_value(op.skip)))
    end
    return { skipped = op.skip }
  end
  if op.op ~= "send" then permanent(("%s.op: expected \"send\", got %s"):format(where, describe_value(op.op))) end
  check_send(op, where)
  local c = configs[op.channel]()
  return delivered(op) or (op.channel == "email" and send_email(op, c) or send_sms(op, c))
end

function M.deliver(operation, ctx)
  -- Configuration is read only when something is to be sent, and only the channel's, so a skip needs none.
  local cached = {}
  local function lazy(read) return function() cached[read] = cached[read] or read(ctx); return cached[read] end end
  local config = { sms = lazy(sms_config), email = lazy(email_config) }
  if is_object(operation) and operation.operations ~= nil then
    local list = operation.operations
    local count = 0
    if type(list) == "table" and list ~= json.null then for _ in pairs(list) do count = count + 1 end end
    if type(list) ~= "table" or list == json.null or count ~= #list then
      permanent(("$.operations: expected an array of operations, got %s"):format(describe_value(list)))
    end
    local results = {}
    for i, op in ipairs(operation.operations) do results[i] = run(op, config, ("$.operations[%d]"):format(i)) end
    return { results = json.array(results) }
  end
  return run(operation, config, "$")
end

return M
