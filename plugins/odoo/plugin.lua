-- odoo: the connector to Odoo's external API. It takes the operations mappings produce (README.md in this folder) and
-- makes them true in Odoo exactly once: every record it creates carries an external id (ir.model.data), so a
-- redelivered message finds what the first delivery made instead of creating a second partner, invoice or payment.
--
-- Two protocols, chosen by the catalog entry's config.protocol:
--   jsonrpc  POST /jsonrpc, common.authenticate then object.execute_kw(db, uid, api_key, model, method, args, kwargs)
--   json2    POST /json/2/<model>/<method> (Odoo 19), Authorization: bearer <api key>, X-Odoo-Database
-- The API key is a secret handle: the host puts its value into the request at send time; it never enters Lua.
--
-- Errors: Odoo's AccessDenied/AccessError/ValidationError/UserError/MissingError (and Python's ValueError/TypeError)
-- are permanent, with Odoo's message kept for the dead letter; serialization and lock failures, unique-key races,
-- 502/503/504/429 and timeouts are retryable; a refused key or session re-authenticates once before giving up.
local json = require("json")
local http = require("http")
local conflux = require("conflux")
local crypto = require("crypto")
local log = require("log")
local time = require("time")
local ledger = require("ledger")
local purchases = require("lib.purchases")

local M = { kind = "connector" }

-- The transport and the ledger, replaceable in specs (tests have no network and no store).
function M._send(request) return http.request(request) end
function M._ledger_put(key, value) return ledger.put(key, value) end
function M._ledger_scan(prefix, after, limit) return ledger.scan(prefix, after, limit) end

local PERMANENT = {
  ["odoo.exceptions.AccessDenied"] = "access denied", ["odoo.exceptions.AccessError"] = "access error",
  ["odoo.exceptions.ValidationError"] = "validation error", ["odoo.exceptions.UserError"] = "user error",
  ["odoo.exceptions.MissingError"] = "missing record", ["odoo.exceptions.RedirectWarning"] = "user error",
  ["builtins.ValueError"] = "value error", ["builtins.TypeError"] = "type error", ["builtins.KeyError"] = "unknown model",
  ["builtins.AttributeError"] = "unknown method", ["werkzeug.exceptions.Unauthorized"] = "unauthorized",
  ["werkzeug.exceptions.NotFound"] = "not found", ["werkzeug.exceptions.BadRequest"] = "bad request",
}
-- PostgreSQL conflicts Odoo gives up on after its own retries: the next attempt will most likely pass.
local RETRYABLE_PATTERNS = { "SerializationFailure", "TransactionRollbackError", "LockNotAvailable", "DeadlockDetected",
                             "UniqueViolation", "could not serialize access", "concurrent update" }
local AUTH_ERRORS = { ["odoo.exceptions.AccessDenied"] = true, ["werkzeug.exceptions.Unauthorized"] = true,
                      ["odoo.http.SessionExpiredException"] = true }

-- An Odoo error as raised to the pipeline; `auth` marks the ones a fresh authentication may cure.
local function odoo_failure(name, message, where)
  name = tostring(name or "unknown")
  message = tostring(message or "")
  local text = ("Odoo %s at %s: %s (%s)"):format(PERMANENT[name] or "error", where, message, name)
  for _, pattern in ipairs(RETRYABLE_PATTERNS) do
    if name:find(pattern, 1, true) or message:find(pattern, 1, true) then
      return { retryable = true, message = text, odoo = name }
    end
  end
  return { retryable = false, message = text, odoo = name, auth = AUTH_ERRORS[name] or false }
end

local function raise(failure)
  error(failure.retryable and conflux.retryable(failure.message) or conflux.permanent(failure.message), 0)
end

local function settings(ctx)
  local c = ctx and ctx.config
  if type(c) ~= "table" then
    error(conflux.permanent("odoo connector: the catalog entry has no config block (url, database, protocol, login, api_key_secret)"), 0)
  end
  local function need(field)
    if type(c[field]) ~= "string" or c[field] == "" then
      error(conflux.permanent(("odoo connector: config.%s is missing or not a string in the catalog entry"):format(field)), 0)
    end
    return c[field]
  end
  local protocol = c.protocol or "jsonrpc"
  if protocol ~= "jsonrpc" and protocol ~= "json2" then
    error(conflux.permanent("odoo connector: config.protocol must be jsonrpc or json2, got " .. tostring(protocol)), 0)
  end
  return {
    url = need("url"):gsub("/+$", ""), database = need("database"), protocol = protocol,
    login = protocol == "jsonrpc" and need("login") or c.login, secret = need("api_key_secret"),
    timeout_ms = math.tointeger(c.timeout_ms) or 30000, company_tag = c.company_tag,
    -- the confirmed-purchases poll: only orders to these suppliers (res.partner ref), at most poll_limit per run
    supplier_refs = type(c.supplier_refs) == "table" and #c.supplier_refs > 0 and c.supplier_refs or nil,
    poll_limit = math.tointeger(c.poll_limit) or 100,
  }
end

-- ---------------------------------------------------------------------------------------------------------------
-- Transport

local sessions = {}   -- uid per url/database/login, kept for the life of the state
local request_id = 0

-- A JSON-RPC call whose args carry the API key at `secret_at`: the JSON is built around a one-off placeholder and the
-- secret handle is spliced in where the placeholder was, so the key is only ever text in the host. secret.json has the
-- host escape it for the JSON string it lands in: JSON-RPC also takes a user's password, which may hold a quote.
local function jsonrpc(c, service, method, args, secret_at)
  request_id = request_id + 1
  local placeholder = "conflux-api-key-" .. crypto.uuid()
  if secret_at then args[secret_at] = placeholder end
  local text = json.encode({ jsonrpc = "2.0", method = "call", id = request_id,
                             params = { service = service, method = method, args = json.array(args) } })
  local body = text
  if secret_at then
    local first, last = text:find('"' .. placeholder .. '"', 1, true)
    body = secret.join(text:sub(1, first), secret.json(secret(c.secret)), text:sub(last))
  end
  local response = M._send({ method = "POST", url = c.url .. "/jsonrpc", timeout_ms = c.timeout_ms,
                             headers = { ["Content-Type"] = "application/json" }, body = body })
  local where = ("%s %s.%s"):format(c.url .. "/jsonrpc", service, method)
  if response.status ~= 200 then
    error(conflux.permanent(("Odoo answered HTTP %d at %s"):format(response.status, where)), 0)
  end
  local reply = response.json
  if type(reply) ~= "table" then
    error(conflux.retryable(("Odoo's answer at %s is not JSON-RPC (%s)"):format(where, (response.body or ""):sub(1, 120))), 0)
  end
  if reply.error ~= nil and reply.error ~= json.null then
    local data = type(reply.error.data) == "table" and reply.error.data or {}
    return nil, odoo_failure(data.name or reply.error.message, data.message or reply.error.message, where)
  end
  return reply.result
end

local function authenticate(c)
  local uid, failure = jsonrpc(c, "common", "authenticate", { c.database, c.login, false, json.object({}) }, 3)
  if failure then raise(failure) end
  if uid == false or uid == nil or uid == json.null then
    error(conflux.permanent(("Odoo refused the login %s on database %s (wrong login or API key %s)")
      :format(c.login, c.database, c.secret)), 0)
  end
  return uid
end

local function session_key(c) return c.url .. "|" .. c.database .. "|" .. c.login end

-- model.method with named parameters: `ids` and `context` as Odoo's JSON-2 takes them, the rest as keywords.
local function call_once(c, model, method, params)
  if c.protocol == "json2" then
    local response = M._send({
      method = "POST", url = ("%s/json/2/%s/%s"):format(c.url, model, method), timeout_ms = c.timeout_ms,
      headers = { ["Content-Type"] = "application/json; charset=utf-8", ["X-Odoo-Database"] = c.database,
                  ["Authorization"] = secret.join("bearer ", secret(c.secret)), ["User-Agent"] = "conflux-odoo-connector" },
      json = params,
    })
    local where = ("%s/json/2/%s/%s"):format(c.url, model, method)
    if response.status == 200 then return response.json end
    local body = type(response.json) == "table" and response.json or {}
    return nil, odoo_failure(body.name or ("HTTP " .. response.status), body.message or (response.body or ""):sub(1, 200), where)
  end
  local key = session_key(c)
  if not sessions[key] then sessions[key] = authenticate(c) end
  local args, kwargs = {}, {}
  for name, value in pairs(params) do
    if name == "ids" then args[1] = value else kwargs[name] = value end
  end
  return jsonrpc(c, "object", "execute_kw",
                 { c.database, sessions[key], false, model, method, json.array(args), json.object(kwargs) }, 3)
end

-- One call; a refused key or session re-authenticates (or, for JSON-2, re-sends with the vault's current key) once.
local function call(c, model, method, params)
  local result, failure = call_once(c, model, method, params)
  if failure and failure.auth then
    log.warn("Odoo refused the credentials; authenticating again once", { model = model, method = method, error = failure.odoo })
    if c.protocol == "jsonrpc" then sessions[session_key(c)] = nil end
    result, failure = call_once(c, model, method, params)
  end
  if failure then raise(failure) end
  return result
end

-- ---------------------------------------------------------------------------------------------------------------
-- External ids and values

local function split_key(key, where)
  local module, name = tostring(key):match("^([%w_]+)%.([%w_.%-]+)$")
  if not module then
    error(conflux.permanent(("%s: key '%s' is not an external id like conflux.service_svc-1001"):format(where, tostring(key))), 0)
  end
  return module, name
end

local function find_xmlid(c, key, model, where)
  local module, name = split_key(key, where)
  local rows = call(c, "ir.model.data", "search_read", {
    domain = { { "module", "=", module }, { "name", "=", name } }, fields = { "model", "res_id" }, limit = 1 })
  local row = rows[1]
  if not row then return nil end
  if model and row.model ~= model then
    error(conflux.permanent(("%s: external id %s names a %s record, not %s"):format(where, key, row.model, model)), 0)
  end
  return row.res_id, row.model
end

local function bind_xmlid(c, key, model, id, where)
  local module, name = split_key(key, where)
  call(c, "ir.model.data", "create", { vals_list = { { module = module, name = name, model = model, res_id = id, noupdate = true } } })
end

local function require_xmlid(c, ref, where)
  local id = find_xmlid(c, ref, nil, where)
  if not id then
    error(conflux.retryable(("%s: %s is not in Odoo yet (the event that creates it has not been delivered)"):format(where, ref)), 0)
  end
  return id
end

local resolve

local function resolve_lines(c, lines, where)
  local out = {}
  for i, line in ipairs(lines) do
    local values = {}
    for field, value in pairs(line) do values[field] = resolve(c, value, ("%s.lines[%d].%s"):format(where, i, field)) end
    out[i] = values
  end
  return out
end

-- A value with its markers replaced by record ids (see README.md).
function resolve(c, value, where)
  if type(value) ~= "table" or json.is_array(value) then return value end
  if value.xmlid ~= nil then return require_xmlid(c, value.xmlid, where) end
  if value.many ~= nil then
    -- many2many: Odoo's "replace with these" command, each element an id or a marker.
    if type(value.many) ~= "table" or (next(value.many) ~= nil and #value.many == 0) then
      error(conflux.permanent(("%s: many must be a list of ids or markers"):format(where)), 0)
    end
    local ids = {}
    for i, item in ipairs(value.many) do
      ids[i] = resolve(c, item, ("%s.many[%d]"):format(where, i))
      if math.type(ids[i]) ~= "integer" then
        error(conflux.permanent(("%s.many[%d]: expected a record id or a marker, got %s"):format(where, i, json.encode(item))), 0)
      end
    end
    return json.array({ json.array({ 6, 0, json.array(ids) }) })
  end
  if value.lookup ~= nil then
    local lookup = value.lookup
    local ids = call(c, lookup.model, "search", { domain = lookup.domain, limit = 1 })
    if not ids[1] then
      error(conflux.permanent(("%s: no %s matches %s in Odoo"):format(where, tostring(lookup.model), json.encode(lookup.domain))), 0)
    end
    return ids[1]
  end
  return value
end

-- The operation's values resolved, with its one2many `{lines=…}` field (at most one) kept apart.
local function resolve_values(c, values, where)
  local out, lines_field, lines = {}, nil, nil
  for field, value in pairs(values or {}) do
    if type(value) == "table" and not json.is_array(value) and value.lines ~= nil then
      lines_field, lines = field, resolve_lines(c, value.lines, where .. ".values." .. field)
    else
      out[field] = resolve(c, value, where .. ".values." .. field)
    end
  end
  return out, lines_field, lines
end

-- Models whose records have a `state`: an upsert writes them only while draft. Every other model (res.partner,
-- calendar.event) is written on each delivery, so a record follows its latest values.
local STATEFUL = { ["account.move"] = true, ["account.payment"] = true, ["purchase.order"] = true, ["stock.picking"] = true,
                   ["sale.order"] = true }
-- The workflow buttons an upsert may press (`action`), and the states in which pressing it still means something:
-- a record already confirmed, done or cancelled is left as it is.
local ACTIONS = { button_confirm = true, button_validate = true, button_cancel = true, action_post = true }
local ACTIONABLE = { draft = true, sent = true, confirmed = true, waiting = true, assigned = true }

-- A record marker (`{ xmlid = … }` of that model, `{ lookup = … }`) or an id → the id. An external id not bound yet is
-- retryable (its creator has not been delivered); a lookup without a match is permanent.
local function resolve_record(c, marker, model, where)
  local id
  if type(marker) == "table" and marker.xmlid ~= nil then
    id = find_xmlid(c, marker.xmlid, model, where)
    if not id then
      error(conflux.retryable(("%s: %s is not in Odoo yet (the event that creates it has not been delivered)"):format(where, tostring(marker.xmlid))), 0)
    end
  elseif type(marker) == "table" and marker.lookup ~= nil then
    id = resolve(c, marker, where)
  else
    id = marker
  end
  if math.type(id) ~= "integer" then
    error(conflux.permanent(("%s: expected { xmlid = … }, { lookup = … } or a record id, got %s"):format(where, json.encode(marker))), 0)
  end
  return id
end

-- A domain whose term values may be markers (`{"product_id", "=", { lookup = … }}`), resolved to ids.
local function resolve_domain(c, domain, where)
  if type(domain) ~= "table" then error(conflux.permanent(where .. ": a domain must be a list of terms"), 0) end
  local out = {}
  for i, term in ipairs(domain) do
    if type(term) == "table" and #term == 3 then
      out[i] = json.array({ term[1], term[2], resolve(c, term[3], ("%s[%d]"):format(where, i)) })
    else
      out[i] = term   -- "&", "|", "!"
    end
  end
  return json.array(out)
end

local function read_one(c, model, id, fields)
  return call(c, model, "read", { ids = { id }, fields = fields })[1]
end

-- ---------------------------------------------------------------------------------------------------------------
-- Operations

local ops = {}

function ops.upsert(c, op, where)
  if op.action ~= nil and not ACTIONS[op.action] then
    error(conflux.permanent(("%s: action '%s' is not one the connector presses (button_confirm, button_validate, button_cancel, action_post)")
      :format(where, tostring(op.action))), 0)
  end
  local has_state = STATEFUL[op.model] or op.action ~= nil
  local id = find_xmlid(c, op.key, op.model, where)
  local created, wrote, posted = false, false, false
  if not id and op.match then
    local ids = call(c, op.model, "search", { domain = op.match, limit = 1 })
    if ids[1] then
      -- Made by an earlier delivery that stopped before binding its external id: adopt it.
      id = ids[1]
      bind_xmlid(c, op.key, op.model, id, where)
      log.info("adopted an existing record for its external id", { model = op.model, id = id, key = op.key })
    end
  end
  local values, lines_field, lines = resolve_values(c, op.values, where)
  local state
  if id then
    state = has_state and read_one(c, op.model, id, { "state" }).state or nil
    if state == nil or state == "draft" then
      if lines_field then
        local existing = read_one(c, op.model, id, { lines_field })[lines_field]
        local commands = {}
        for _, line_id in ipairs(existing) do commands[#commands + 1] = json.array({ 2, line_id, 0 }) end
        for _, line in ipairs(lines) do commands[#commands + 1] = json.array({ 0, 0, line }) end
        values[lines_field] = json.array(commands)
      end
      if next(values) ~= nil then
        call(c, op.model, "write", { ids = { id }, vals = values })
        wrote = true
      end
    end
  else
    if lines_field then
      local commands = {}
      for i, line in ipairs(lines) do commands[i] = json.array({ 0, 0, line }) end
      values[lines_field] = json.array(commands)
    end
    id = call(c, op.model, "create", { vals_list = { values } })[1]
    created = true
    local ok, failure = pcall(bind_xmlid, c, op.key, op.model, id, where)
    if not ok then
      -- Another delivery bound the key first. It may have adopted our record through `match` (then the key names
      -- ours and all is well); otherwise ours is a twin: remove it and let the retry use the bound one.
      local bound_ok, bound = pcall(find_xmlid, c, op.key, op.model, where)
      if not (bound_ok and bound == id) then
        if bound_ok and bound then pcall(call, c, op.model, "unlink", { ids = { id } }) end
        error(failure, 0)
      end
    end
    state = has_state and "draft" or nil
  end
  if op.post and state == "draft" then
    call(c, op.model, "action_post", { ids = { id } })
    posted = true
  end
  local result = { op = "upsert", model = op.model, key = op.key, id = id, created = created, written = wrote, posted = posted,
                   state = posted and "posted" or state }
  if op.action ~= nil then
    -- After the values are in: confirm the RFQ, validate the receipt… unless Odoo is already past that step.
    result.action, result.acted = op.action, false
    if not (posted and op.action == "action_post") and ACTIONABLE[result.state] then
      call(c, op.model, op.action, { ids = { id } })
      result.acted = true
      result.state = read_one(c, op.model, id, { "state" }).state
    end
  end
  return result
end

-- The record is the one `key` names, or `record` (a marker): a record someone made in Odoo has no conflux external
-- id, so it is found by lookup (a purchase order by its name).
function ops.update(c, op, where)
  local id
  if op.record ~= nil then
    id = resolve_record(c, op.record, op.model, where .. ".record")
  else
    id = find_xmlid(c, op.key, op.model, where)
    if not id then
      error(conflux.retryable(("%s: %s is not in Odoo yet (the event that creates it has not been delivered)"):format(where, op.key)), 0)
    end
  end
  local values = resolve_values(c, op.values, where)
  call(c, op.model, "write", { ids = { id }, vals = values })
  return { op = "update", model = op.model, key = op.key, id = id }
end

local function existing_payment(c, op, where)
  local id = find_xmlid(c, op.key, "account.payment", where)
  if id then return id end
  if op.memo then
    local ids = call(c, "account.payment", "search", { domain = { { "memo", "=", op.memo } }, limit = 1 })
    if ids[1] then
      bind_xmlid(c, op.key, "account.payment", ids[1], where)
      return ids[1]
    end
  end
end

local function posted_invoice(c, op, where)
  if type(op.invoice) ~= "table" or type(op.invoice.xmlid) ~= "string" then
    error(conflux.permanent(where .. ": invoice must be { xmlid = \"conflux.service_…\" }"), 0)
  end
  local id = require_xmlid(c, op.invoice.xmlid, where .. ".invoice")
  local invoice = read_one(c, "account.move", id, { "state", "payment_state", "amount_residual", "partner_id", "name" })
  if invoice.state ~= "posted" then
    error(conflux.retryable(("%s: invoice %s is %s in Odoo, not posted yet"):format(where, op.invoice.xmlid, invoice.state)), 0)
  end
  return id, invoice
end

function ops.register_payment(c, op, where)
  local done = existing_payment(c, op, where)
  if done then return { op = "register_payment", key = op.key, id = done, created = false } end
  local invoice_id, invoice = posted_invoice(c, op, where)
  if invoice.payment_state == "paid" then
    error(conflux.permanent(("%s: invoice %s (%s) is already paid in Odoo; payment %s of %s was not registered — a person must decide (refund or credit)")
      :format(where, op.invoice.xmlid, tostring(invoice.name), tostring(op.memo), tostring(op.amount))), 0)
  end
  if type(op.amount) ~= "number" or op.amount <= 0 then
    error(conflux.permanent(where .. ": amount must be a positive number, got " .. tostring(op.amount)), 0)
  end
  local wizard_values = { amount = op.amount, payment_date = op.date, communication = op.memo }
  if op.journal then wizard_values.journal_id = resolve(c, op.journal, where .. ".journal") end
  local wizard = call(c, "account.payment.register", "create", {
    vals_list = { wizard_values }, context = { active_model = "account.move", active_ids = { invoice_id } } })[1]
  local action = call(c, "account.payment.register", "action_create_payments", { ids = { wizard } })
  local payment = type(action) == "table" and math.tointeger(action.res_id) or nil
  if not payment then
    payment = call(c, "account.payment", "search", { domain = { { "memo", "=", op.memo } }, limit = 1 })[1]
  end
  if not payment then error(conflux.retryable(where .. ": Odoo registered the payment but it cannot be found by its memo yet"), 0) end
  bind_xmlid(c, op.key, "account.payment", payment, where)
  return { op = "register_payment", key = op.key, id = payment, created = true, invoice = invoice_id }
end

-- Posts a refund payment an earlier delivery created but stopped before posting.
local function post_if_draft(c, id)
  if read_one(c, "account.payment", id, { "state" }).state == "draft" then
    call(c, "account.payment", "action_post", { ids = { id } })
  end
end

local function refund_payment(c, op, where, amount)
  local _, invoice = posted_invoice(c, op, where)
  local partner = type(invoice.partner_id) == "table" and invoice.partner_id[1] or invoice.partner_id
  local id = call(c, "account.payment", "create", { vals_list = { {
    payment_type = "outbound", partner_type = "customer", partner_id = partner, amount = amount, date = op.date, memo = op.memo,
  } } })[1]
  bind_xmlid(c, op.key, "account.payment", id, where)
  call(c, "account.payment", "action_post", { ids = { id } })
  return id
end

local function cents_of(amount) return math.floor(amount * 100 + 0.5) end

-- A refund is given as `amount` (one refund of that much) or as `refunded_total`: what the gateway has refunded on
-- the charge so far, in all (a charge.refunded event carries only that). Then the payment made is what the total
-- holds beyond the refund payments already in Odoo under this memo: a second partial refund books its own part; a
-- redelivered total, or an older and smaller one arriving late, books nothing. The key names the total
-- (conflux.refund_CHARGE_TOTALCENTS), so a retry after a crash finds the payment it made. Two totals of one charge
-- must not be booked side by side: the patient-payments flow orders a charge's events (ordering_key).
function ops.refund(c, op, where)
  if (op.amount == nil) == (op.refunded_total == nil) then
    error(conflux.permanent(where .. ": refund needs 'amount' or 'refunded_total', not both"), 0)
  end
  if op.amount ~= nil then
    local done = existing_payment(c, op, where)
    if done then
      -- Made by an earlier delivery that stopped before posting it: post it now.
      post_if_draft(c, done)
      return { op = "refund", key = op.key, id = done, created = false }
    end
    return { op = "refund", key = op.key, id = refund_payment(c, op, where, op.amount), created = true }
  end
  if type(op.refunded_total) ~= "number" or op.refunded_total <= 0 or type(op.memo) ~= "string" or op.memo == "" then
    error(conflux.permanent(where .. ": refunded_total must be a positive amount, and memo name the charge"), 0)
  end
  local done = find_xmlid(c, op.key, "account.payment", where)
  if done then
    -- Redelivered: the payment this total made stays what the ledger expects.
    local made = read_one(c, "account.payment", done, { "state", "amount" })
    if made.state == "draft" then call(c, "account.payment", "action_post", { ids = { done } }) end
    return { op = "refund", key = op.key, id = done, created = false, ledger_amount = tonumber(made.amount) }
  end
  local booked, draft = 0, nil
  local earlier = call(c, "account.payment", "search_read", {
    domain = { { "memo", "=", op.memo }, { "payment_type", "=", "outbound" } }, fields = { "amount", "state" } })
  for _, payment in ipairs(earlier) do
    if payment.state ~= "canceled" and payment.state ~= "cancel" and payment.state ~= "rejected" then
      booked = booked + cents_of(tonumber(payment.amount) or 0)
      -- A draft is a payment whose delivery stopped before posting it (refund_payment posts at once).
      if payment.state == "draft" then
        call(c, "account.payment", "action_post", { ids = { payment.id } })
        draft = payment
      end
    end
  end
  local total = cents_of(op.refunded_total)
  local due = total - booked
  if due <= 0 then
    -- This total's own earlier delivery stopped between creating its payment and binding the key: the draft is the
    -- part it booked (nothing else adds up to exactly this total), so it gets the key and the ledger entry now.
    if draft and booked == total then
      bind_xmlid(c, op.key, "account.payment", draft.id, where)
      return { op = "refund", key = op.key, id = draft.id, created = false, ledger_amount = tonumber(draft.amount) }
    end
    return { op = "refund", key = op.key, created = false, already_booked = booked / 100, unledgered = true }
  end
  local id = refund_payment(c, op, where, due / 100)
  return { op = "refund", key = op.key, id = id, created = true, amount = due / 100, ledger_amount = due / 100 }
end

function ops.activity(c, op, where)
  local done = find_xmlid(c, op.key, "mail.activity", where)
  if done then return { op = "activity", key = op.key, id = done, created = false } end
  local record = resolve(c, op.record, where .. ".record")
  local id = call(c, "mail.activity", "create", { vals_list = { {
    res_model = op.model, res_id = record, summary = op.summary, note = op.note, date_deadline = time.iso8601():sub(1, 10),
  } } })[1]
  bind_xmlid(c, op.key, "mail.activity", id, where)
  return { op = "activity", key = op.key, id = id, created = true }
end

-- A note in the record's chatter (mail.thread message_post, subtype mail.mt_note), bound to `key` through the
-- mail.message it creates: a redelivery finds the key and posts nothing.
function ops.note(c, op, where)
  local done = find_xmlid(c, op.key, "mail.message", where)
  if done then return { op = "note", key = op.key, model = "mail.message", id = done, created = false } end
  if type(op.body) ~= "string" or op.body == "" then error(conflux.permanent(where .. ": note needs a non-empty body"), 0) end
  local record = resolve_record(c, op.record, op.model, where .. ".record")
  local answer = call(c, op.model, "message_post", { ids = { record }, body = op.body, message_type = "comment",
                                                      subtype_xmlid = "mail.mt_note" })
  local id = math.tointeger(answer) or (type(answer) == "table" and math.tointeger(answer[1])) or nil
  if not id then
    error(conflux.permanent(("%s: Odoo's message_post on %s %d answered %s, not a message id"):format(where, op.model, record, json.encode(answer))), 0)
  end
  bind_xmlid(c, op.key, "mail.message", id, where)
  return { op = "note", key = op.key, model = "mail.message", id = id, res_model = op.model, res_id = record, created = true }
end

local function number_text(n)
  if math.type(n) == "integer" or (n == math.floor(n) and math.abs(n) < 1e15) then return ("%d"):format(math.floor(n)) end
  return (("%.4f"):format(n):gsub("0+$", ""))
end

-- A check of what Odoo holds against what was counted elsewhere: the sum of `field` over the records `domain`
-- matches, against `expected`. Drift beyond `tolerance` becomes a to-do (mail.activity, bound to `key`, so the same
-- check run again adds none) on `subject`; the checked records are never written — either side may be the right one.
function ops.verify(c, op, where)
  if type(op.field) ~= "string" or op.field == "" then error(conflux.permanent(where .. ": verify needs the field to sum"), 0) end
  if type(op.expected) ~= "number" then
    error(conflux.permanent(("%s: expected must be a number, got %s"):format(where, json.encode(op.expected))), 0)
  end
  local tolerance = op.tolerance or 0
  if type(tolerance) ~= "number" or tolerance < 0 then
    error(conflux.permanent(("%s: tolerance must be a number of at least 0, got %s"):format(where, json.encode(op.tolerance))), 0)
  end
  local subject = op.subject
  if type(subject) ~= "table" or type(subject.model) ~= "string" or subject.record == nil then
    error(conflux.permanent(where .. ": verify needs subject = { model, record } (the record a to-do goes on)"), 0)
  end
  local rows = call(c, op.model, "search_read", { domain = resolve_domain(c, op.domain, where .. ".domain"), fields = { op.field } })
  local held = 0
  for i, row in ipairs(rows) do
    local value = row[op.field]
    if value == false then value = 0 end
    if type(value) ~= "number" then
      error(conflux.permanent(("%s: %s.%s of record %s is %s, not a number"):format(where, op.model, op.field, tostring(row.id), json.encode(value))), 0)
    end
    held = held + value
  end
  -- Sums of floats: compare at a millionth, so 0.1 + 0.2 holds 0.3.
  local drift = math.floor((held - op.expected) * 1e6 + 0.5) / 1e6
  if math.tointeger(drift) then drift = math.tointeger(drift) end
  local result = { op = "verify", key = op.key, model = "mail.activity", held = held, expected = op.expected, drift = drift,
                   records = #rows }
  if math.abs(drift) <= tolerance then
    result.within = true
    return result
  end
  result.within = false
  local done = find_xmlid(c, op.key, "mail.activity", where)
  if done then
    result.activity, result.created = done, false
    return result
  end
  local subject_id = resolve_record(c, subject.record, subject.model, where .. ".subject.record")
  local note = ("Odoo holds %s (%s.%s over %d record(s)); counted %s; difference %s%s (tolerance %s).")
    :format(number_text(held), op.model, op.field, #rows, number_text(op.expected), drift > 0 and "+" or "", number_text(drift),
            number_text(tolerance))
  if type(op.note) == "string" and op.note ~= "" then note = op.note .. " " .. note end
  local id = call(c, "mail.activity", "create", { vals_list = { {
    res_model = subject.model, res_id = subject_id, summary = op.summary or ("Conflux: %s differs from the count"):format(op.field),
    note = note, date_deadline = time.iso8601():sub(1, 10),
  } } })[1]
  bind_xmlid(c, op.key, "mail.activity", id, where)
  result.activity, result.created, result.note = id, true, note
  return result
end

local REQUIRED = {
  upsert = { "model", "key", "values" }, update = { "model", "values" },
  register_payment = { "key", "invoice", "amount" }, refund = { "key", "invoice" },
  activity = { "key", "model", "record", "summary" }, note = { "key", "model", "record", "body" },
  verify = { "key", "model", "domain", "field", "expected", "subject" },
}
local OP_NAMES = "upsert, update, register_payment, refund, activity, note, verify"
-- The model a ledger entry names when the result does not say.
local LEDGER_MODEL = { activity = "mail.activity", note = "mail.message", verify = "mail.activity" }

local function run(c, op, where)
  if type(op) ~= "table" then error(conflux.permanent(where .. ": an operation must be a table"), 0) end
  local handler = ops[op.op]
  if not handler then
    error(conflux.permanent(("%s: unknown op '%s' (%s)"):format(where, tostring(op.op), OP_NAMES)), 0)
  end
  for _, field in ipairs(REQUIRED[op.op]) do
    if op[field] == nil then error(conflux.permanent(("%s: %s needs '%s'"):format(where, op.op, field)), 0) end
  end
  if op.op == "update" and op.key == nil and op.record == nil then
    error(conflux.permanent(("%s: update needs 'key' or 'record'"):format(where)), 0)
  end
  if op.ledger ~= nil and op.key == nil then
    error(conflux.permanent(("%s: an operation with a ledger needs a 'key' to file it under"):format(where)), 0)
  end
  local result = handler(c, op, where)
  -- What was delivered, for the reconciliation: the operation's own figures and where they went.
  -- A refund total that Odoo already holds made nothing, so there is nothing to reconcile under its key; one that made
  -- a payment expects the part it booked, not the total.
  if op.ledger ~= nil and not result.unledgered then
    local expected = op.ledger
    if result.ledger_amount ~= nil and type(expected) == "table" then
      expected = {}
      for k, v in pairs(op.ledger) do expected[k] = v end
      expected.amount = result.ledger_amount
    end
    M._ledger_put(op.key, { op = op.op, model = result.model or LEDGER_MODEL[op.op] or "account.payment",
                            id = result.id, expected = expected, posted = op.post == true or nil,
                            delivered_at = time.iso8601() })
  end
  result.unledgered, result.ledger_amount = nil, nil
  return result
end

-- ---------------------------------------------------------------------------------------------------------------
-- Reconciliation (scheduled): what the ledger says Conflux delivered against what Odoo holds now. Every difference
-- becomes a `reconciliation.drift` event — the flow turns it into a to-do in Odoo for the finance team; nothing is
-- corrected here, since either side may be the right one.

local CHECKS = {
  ["account.move"] = { fields = { "amount_total", "state", "partner_id" }, amount = "amount_total", states = { posted = true } },
  ["account.payment"] = { fields = { "amount", "state", "partner_id" }, amount = "amount", states = { paid = true, in_process = true } },
}

local function differs(a, b) return math.abs((tonumber(a) or 0) - (tonumber(b) or 0)) >= 0.005 end

function M.reconcile(_, ctx)
  local c = settings(ctx)
  local events, checked, after = {}, 0, nil
  local function drift(entry, field, expected, actual, record_key, summary)
    events[#events + 1] = {
      type = "reconciliation.drift",
      idempotency_key = ("drift:%s:%s:%s:%s"):format(entry.key, field, tostring(expected), tostring(actual)),
      key = entry.key, model = entry.value.model, field = field, expected = expected, actual = actual,
      record_key = record_key, summary = summary,
    }
  end
  repeat
    local page = M._ledger_scan("conflux.", after, 200)
    for _, entry in ipairs(page) do
      local value, check = entry.value, CHECKS[entry.value.model]
      local expected_amount = check and type(value.expected) == "table" and (value.expected.amount_total or value.expected.amount)
      if check and expected_amount then
        checked = checked + 1
        local id = find_xmlid(c, entry.key, value.model, "reconcile")
        local record = id and call(c, value.model, "search_read", { domain = { { "id", "=", id } }, fields = check.fields })[1]
        if not record then
          local partner = value.expected.partner and ("conflux.patient_" .. value.expected.partner) or nil
          drift(entry, "record", "present", "missing", partner,
                ("%s %s was delivered (%s) but Odoo no longer has it"):format(value.model, entry.key, tostring(expected_amount)))
        else
          if differs(record[check.amount], expected_amount) then
            drift(entry, check.amount, expected_amount, record[check.amount], entry.key,
                  ("%s: Conflux delivered %.2f, Odoo holds %.2f"):format(entry.key, expected_amount, tonumber(record[check.amount]) or 0))
          end
          if (value.posted or value.model == "account.payment") and not check.states[record.state] then
            drift(entry, "state", value.model == "account.move" and "posted" or "paid", record.state, entry.key,
                  ("%s: delivered as posted, Odoo says %s"):format(entry.key, tostring(record.state)))
          end
        end
      end
      after = entry.key
    end
  until #page < 200
  log.info("reconciliation finished", { checked = checked, drift = #events })
  return json.array(events)
end

-- ---------------------------------------------------------------------------------------------------------------
-- The confirmed-purchases poll (scheduled): purchase orders confirmed in Odoo and not yet sent to the supplier become
-- `purchase.confirmed` events (lib/purchases.lua). The host runs scheduled hooks named poll or reconcile; this is the
-- connector's poll.

function M._confirmed_purchases(input, ctx)
  return purchases.confirmed(settings(ctx), call, input)
end

function M.poll(input, ctx) return M._confirmed_purchases(input, ctx) end

function M.deliver(operation, ctx)
  if type(operation) ~= "table" then error(conflux.permanent("odoo.deliver: expected an operation table"), 0) end
  if operation.skip then return { skipped = operation.skip } end
  local c = settings(ctx)
  if operation.operations ~= nil then
    local results = {}
    for i, op in ipairs(operation.operations) do results[i] = run(c, op, ("operations[%d] (%s)"):format(i, tostring(op.op))) end
    return { results = json.array(results) }
  end
  return run(c, operation, tostring(operation.op))
end

return M
