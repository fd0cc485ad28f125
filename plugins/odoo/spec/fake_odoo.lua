-- A small in-memory Odoo for the connector's specs: it answers the requests `plugin._send` would put on the wire,
-- through JSON-RPC (POST /jsonrpc: common.authenticate, object.execute_kw) and JSON-2 (POST /json/2/<model>/<method>),
-- and keeps records, external ids (ir.model.data) and invoice/payment states the way Odoo does for what the connector
-- uses. It is strict about the wire: a request the real Odoo would not understand, an API key that is not a secret
-- handle, or a method the connector has no business calling is a *problem* — recorded in `fake.problems` (specs check
-- it is empty after each test, since the connector may pcall around a call) and raised as "fake odoo: …".
--
--   local FakeOdoo = require("spec.fake_odoo")
--   local odoo = FakeOdoo.new()            -- url http://odoo.test, database clinic, login conflux-bot, uid 2
--   odoo:install(plugin)                 -- plugin._send, and plugin._ledger_put/_ledger_scan on odoo.ledger
--   odoo:fail{ model = "res.partner", method = "create", name = "odoo.exceptions.ValidationError", message = "…" }
--   odoo.trace  -- { "ir.model.data.search_read", "res.partner.create", … } in call order
local json = require("json")

local M = {}
local Fake = {}
Fake.__index = Fake
local API = {}   -- the model methods, by name: fn(fake, model, ids, kw)

-- The relational fields the fake knows, so it can check ids and answer `read` the way Odoo does.
local MANY2ONE = {
  partner_id = "res.partner", currency_id = "res.currency", journal_id = "account.journal", product_id = "product.product",
  move_id = "account.move", order_id = "purchase.order", purchase_id = "purchase.order", picking_id = "stock.picking",
  location_id = "stock.location", location_dest_id = "stock.location",
}
local ONE2MANY = {
  ["account.move"] = { invoice_line_ids = "account.move.line" },
  ["purchase.order"] = { order_line = "purchase.order.line" },
  ["stock.picking"] = { move_ids = "stock.move" },
}
-- The field of a line pointing back to its parent (the one2many's inverse).
local INVERSE = { ["account.move.line"] = "move_id", ["purchase.order.line"] = "order_id", ["stock.move"] = "picking_id" }
-- many2many fields take Odoo's command lists: (6, 0, ids) replace, (4, id) link, (3, id) unlink.
local MANY2MANY = { partner_ids = "res.partner" }

-- Named parameters each method takes (JSON-2 names; JSON-RPC passes the same as kwargs, `ids` positionally).
local PARAMS = {
  search_read = { domain = true, fields = true, limit = true, offset = true, order = true, context = true },
  search = { domain = true, limit = true, offset = true, order = true, context = true },
  read = { fields = true, context = true },
  create = { vals_list = true, context = true },
  write = { vals = true, context = true },
  unlink = { context = true },
  action_post = { context = true },
  action_create_payments = { context = true },
  message_post = { body = true, message_type = true, subtype_xmlid = true, context = true },
  button_confirm = { context = true },
  button_validate = { context = true },
  button_cancel = { context = true },
}
local NEEDS_IDS = { read = true, write = true, unlink = true, action_post = true, action_create_payments = true,
                    message_post = true, button_confirm = true, button_validate = true, button_cancel = true }

-- JSON-2 answers errors with an HTTP status chosen by the exception.
local JSON2_STATUS = {
  ["odoo.exceptions.AccessDenied"] = 401, ["werkzeug.exceptions.Unauthorized"] = 401,
  ["odoo.exceptions.AccessError"] = 403, ["odoo.exceptions.MissingError"] = 404,
  ["odoo.exceptions.UserError"] = 422, ["odoo.exceptions.ValidationError"] = 422,
}

local function copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for k, v in pairs(value) do out[k] = copy(v) end
  if json.is_array(value) then json.array(out) end
  return out
end

local function is_list(value)
  if type(value) ~= "table" then return false end
  if json.is_array(value) then return true end
  local n = 0
  for _ in pairs(value) do n = n + 1 end
  return n == #value
end

local function odoo_error(name, message)
  error({ odoo_error = true, name = name, message = message }, 0)
end

local function answer(status, value)
  local text = json.encode(value)
  return { status = status, headers = { ["content-type"] = "application/json" }, body = text, json = json.decode(text) }
end

function M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    url = opts.url or "http://odoo.test", database = opts.database or "clinic", login = opts.login or "conflux-bot",
    secret = opts.secret or "odoo/api_key", uid = opts.uid or 2,
    records = {}, next_id = 100, sequence = 0,
    requests = {}, trace = {}, calls = {}, authentications = 0, failures = {}, problems = {},
    ledger = {}, ledger_writes = 0, ledger_scans = 0,
    action_result = "window",   -- "window": action_create_payments returns the payment's form action; "true": True
  }, Fake)
  -- What a clinic's Odoo has before Conflux delivers anything.
  self.ids = {
    usd = self:add("res.currency", { name = "USD" }),
    eur = self:add("res.currency", { name = "EUR" }),
    bank = self:add("account.journal", { code = "BNK1", name = "Bank", type = "bank" }),
    p99213 = self:add("product.product", { default_code = "99213", name = "Office visit, established patient" }),
    p36415 = self:add("product.product", { default_code = "36415", name = "Venipuncture" }),
    p85025 = self:add("product.product", { default_code = "85025", name = "Complete blood count" }),
  }
  return self
end

-- ---------------------------------------------------------------------------------------------------------------
-- For specs

function Fake:transport() return function(request) return self:send(request) end end

-- Puts this fake behind the connector's seams: its transport, and the host ledger (which plugin tests do not have)
-- as `fake.ledger`, key → the value as JSON would bring it back.
function Fake:install(plugin)
  plugin._send = self:transport()
  plugin._ledger_put = function(key, value) return self:ledger_put(key, value) end
  plugin._ledger_scan = function(prefix, after, limit) return self:ledger_scan(prefix, after, limit) end
end

function Fake:ledger_put(key, value)
  if type(key) ~= "string" or key == "" then self:problem("ledger.put: the key must be a non-empty string") end
  self.ledger[key] = json.decode(json.encode(value))
  self.ledger_writes = self.ledger_writes + 1
  return true
end

-- Entries whose key starts with prefix, in key order, after `after` (exclusive), at most limit (default 100).
function Fake:ledger_scan(prefix, after, limit)
  limit = limit or 100
  if math.type(limit) ~= "integer" or limit < 1 or limit > 1000 then self:problem("ledger.scan: limit must be 1..1000") end
  local keys = {}
  for key in pairs(self.ledger) do
    if key:sub(1, #prefix) == prefix and (after == nil or key > after) then keys[#keys + 1] = key end
  end
  table.sort(keys)
  local page = {}
  for i = 1, math.min(limit, #keys) do page[i] = { key = keys[i], value = json.decode(json.encode(self.ledger[keys[i]])) } end
  self.ledger_scans = self.ledger_scans + 1
  return json.array(page)
end

-- A failure Odoo answers for the next matching call (`times` calls, default 1). model/method nil match any object
-- call; authentication fails only when model is "common". `status` sets the JSON-2 HTTP status.
function Fake:fail(spec)
  spec.times = spec.times or 1
  self.failures[#self.failures + 1] = spec
end

function Fake:forget_log()
  self.requests, self.trace, self.calls, self.authentications = {}, {}, {}, 0
end

function Fake:record(model, id) return (self.records[model] or {})[id] end

-- Records of a model in id order.
function Fake:all(model)
  local list = {}
  for _, rec in pairs(self.records[model] or {}) do list[#list + 1] = rec end
  table.sort(list, function(a, b) return a.id < b.id end)
  return list
end

function Fake:count(model) return #self:all(model) end

-- The record an external id names: model, id (nil when unbound).
function Fake:xmlid(full)
  local module, name = full:match("^([^.]+)%.(.+)$")
  for _, row in ipairs(self:all("ir.model.data")) do
    if row.module == module and row.name == name then return row.model, row.res_id end
  end
end

function Fake:bind(full, model, id)
  local module, name = full:match("^([^.]+)%.(.+)$")
  return self:add("ir.model.data", { module = module, name = name, model = model, res_id = id, noupdate = true })
end

-- Object calls made, as recorded (model, method, ids, kw), optionally only those of one model and method.
function Fake:calls_to(model, method)
  local out = {}
  for _, call in ipairs(self.calls) do
    if (model == nil or call.model == model) and (method == nil or call.method == method) then out[#out + 1] = call end
  end
  return out
end

-- The trace without authentications: the model methods called, in order (failed ones as "model.method -> error").
function Fake:steps()
  local out = {}
  for _, step in ipairs(self.trace) do
    if not step:find("^common%.authenticate") then out[#out + 1] = step end
  end
  return out
end

-- Deletes a record and, as Odoo's unlink does, the external ids naming it.
function Fake:remove(model, id)
  self:_table(model)[id] = nil
  for _, row in ipairs(self:all("ir.model.data")) do
    if row.model == model and row.res_id == id then self.records["ir.model.data"][row.id] = nil end
  end
end

-- Posts a seeded invoice or payment the way Odoo's action_post does.
function Fake:post(model, id)
  API.action_post(self, model, { id })
end

-- Creates a record directly (seeding), with Odoo's defaults; one2many fields take command lists.
function Fake:add(model, values)
  return self:_new_record(model, values)
end

-- ---------------------------------------------------------------------------------------------------------------
-- The wire

function Fake:problem(message)
  self.problems[#self.problems + 1] = message
  error("fake odoo: " .. message, 0)
end

function Fake:send(request)
  self.requests[#self.requests + 1] = request
  if type(request) ~= "table" then self:problem("a request must be a table") end
  if request.method ~= "POST" then self:problem("Odoo's APIs take POST, got " .. tostring(request.method)) end
  if type(request.url) ~= "string" then self:problem("url must be a string") end
  if request.url == self.url .. "/jsonrpc" then return self:_jsonrpc(request) end
  local prefix = self.url .. "/json/2/"
  if request.url:sub(1, #prefix) == prefix then
    local model, method = request.url:sub(#prefix + 1):match("^([%w_.]+)/([%w_]+)$")
    if not model then self:problem("not a JSON-2 path: " .. request.url) end
    return self:_json2(request, model, method)
  end
  return answer(404, { error = "not found: " .. request.url })
end

function Fake:_take_failure(model, method, authentication)
  for i, f in ipairs(self.failures) do
    local applies
    if authentication then applies = f.model == "common" and (f.method == nil or f.method == method)
    else applies = f.model ~= "common" and (f.model == nil or f.model == model) and (f.method == nil or f.method == method) end
    if applies then
      f.times = f.times - 1
      if f.times <= 0 then table.remove(self.failures, i) end
      return f
    end
  end
end

local function rpc_error(id, failure)
  return answer(200, { jsonrpc = "2.0", id = id, error = {
    code = 200, message = "Odoo Server Error",
    data = { name = failure.name, message = failure.message, arguments = json.array({ failure.message }),
             context = json.object({}), debug = "Traceback (most recent call last):\n  …\n" .. failure.name .. ": " .. failure.message },
  } })
end

function Fake:_jsonrpc(request)
  local content_type = (request.headers or {})["Content-Type"]
  if type(content_type) ~= "string" or not content_type:find("application/json", 1, true) then
    self:problem("JSON-RPC needs Content-Type application/json, got " .. tostring(content_type))
  end
  local body = request.body
  if getmetatable(body) ~= "secret" then
    self:problem("the JSON-RPC body must be a secret handle (the API key spliced in), got a " .. type(body))
  end
  local text = tostring(body)
  -- secret.json: the host escapes the key for the JSON string it lands in (spliced raw, a quote in it breaks the JSON).
  local key_literal = "secret.json(secret(" .. self.secret .. "))"
  local _, spliced = text:gsub('"' .. key_literal:gsub("%p", "%%%0") .. '"', "")
  if spliced ~= 1 then self:problem(("the body must carry the API key exactly once as a JSON string, found %d (spliced with secret.json): %s"):format(spliced, text)) end
  if text:find("conflux-api-key-", 1, true) then self:problem("the key placeholder was left in the body: " .. text) end
  local ok, envelope = pcall(json.decode, text)
  if not ok then self:problem("the body is not JSON: " .. tostring(envelope)) end
  if envelope.jsonrpc ~= "2.0" or envelope.method ~= "call" or type(envelope.params) ~= "table" then
    self:problem("not a JSON-RPC 2.0 call: " .. text)
  end
  local id, params = envelope.id, envelope.params
  local args = params.args
  if not json.is_array(args) then self:problem("params.args must be an array: " .. text) end

  if params.service == "common" and params.method == "authenticate" then
    if #args ~= 4 or args[1] ~= self.database or type(args[2]) ~= "string" or args[3] ~= key_literal or type(args[4]) ~= "table" then
      self:problem("authenticate takes (db, login, key, user_agent_env): " .. text)
    end
    self.authentications = self.authentications + 1
    local failure = self:_take_failure("common", "authenticate", true)
    self.trace[#self.trace + 1] = "common.authenticate" .. (failure and (" -> " .. failure.name) or "")
    if failure then return rpc_error(id, failure) end
    -- Odoo answers False, not an error, to a wrong login or key.
    if args[2] ~= self.login or self.refuse_key then return answer(200, { jsonrpc = "2.0", id = id, result = false }) end
    return answer(200, { jsonrpc = "2.0", id = id, result = self.uid })
  end

  if params.service == "object" and params.method == "execute_kw" then
    if #args ~= 7 or args[1] ~= self.database or args[3] ~= key_literal or type(args[4]) ~= "string"
        or type(args[5]) ~= "string" or not json.is_array(args[6]) or type(args[7]) ~= "table" or json.is_array(args[7]) then
      self:problem("execute_kw takes (db, uid, key, model, method, args, kwargs): " .. text)
    end
    local model, method, positional, kwargs = args[4], args[5], args[6], args[7]
    if #positional > 1 then self:problem("only ids go positionally: " .. text) end
    if args[2] ~= self.uid then
      self.trace[#self.trace + 1] = model .. "." .. method .. " -> stale uid " .. tostring(args[2])
      return rpc_error(id, { name = "odoo.exceptions.AccessDenied", message = "Access Denied" })
    end
    local result, failure = self:_call("jsonrpc", model, method, positional[1], kwargs)
    if failure then return rpc_error(id, failure) end
    return answer(200, { jsonrpc = "2.0", id = id, result = result })
  end

  self:problem(("no service %s.%s in this fake"):format(tostring(params.service), tostring(params.method)))
end

function Fake:_json2(request, model, method)
  local headers = request.headers or {}
  local authorization = headers["Authorization"]
  if getmetatable(authorization) ~= "secret" then
    self:problem("the Authorization header must be a secret handle, got a " .. type(authorization))
  end
  if tostring(authorization) ~= "bearer secret(" .. self.secret .. ")" then
    self:problem("Authorization must be bearer and the API key, got " .. tostring(authorization))
  end
  if headers["X-Odoo-Database"] ~= self.database then
    self:problem("X-Odoo-Database must name the database, got " .. tostring(headers["X-Odoo-Database"]))
  end
  if request.body ~= nil or type(request.json) ~= "table" then self:problem("JSON-2 takes its parameters as json=") end
  -- What the host would send: the parameters through the JSON codec.
  local params = json.decode(json.encode(request.json))
  local ids, kw = nil, {}
  for name, value in pairs(params) do
    if name == "ids" then ids = value else kw[name] = value end
  end
  local result, failure = self:_call("json2", model, method, ids, kw)
  if failure then
    local status = failure.status or JSON2_STATUS[failure.name] or 500
    if status == 429 or status >= 500 then
      -- What http.request does with these before the plugin sees them.
      error({ message = ("http.request: %s answered %d"):format(self.url, status), retryable = true, status = status }, 0)
    end
    return answer(status, { name = failure.name, message = failure.message, arguments = json.array({ failure.message }),
                            context = json.object({}), debug = "" })
  end
  return answer(200, result)
end

-- One model method, from either protocol: the result, or nil and the Odoo error.
function Fake:_call(protocol, model, method, ids, kw)
  local entry = { protocol = protocol, model = model, method = method, ids = ids, kw = kw }
  self.calls[#self.calls + 1] = entry
  local label = model .. "." .. method
  local failure = self:_take_failure(model, method, false)
  if failure then
    self.trace[#self.trace + 1] = label .. " -> " .. failure.name
    entry.failed = failure.name
    return nil, failure
  end
  local allowed = PARAMS[method]
  if not allowed then self:problem("the connector has no business calling " .. label) end
  for name in pairs(kw) do
    if not allowed[name] then self:problem(("%s takes no parameter '%s'"):format(label, tostring(name))) end
  end
  if NEEDS_IDS[method] then
    if not is_list(ids) then self:problem(label .. " needs ids") end
    for _, id in ipairs(ids) do
      if math.type(id) ~= "integer" then self:problem(label .. ": ids must be integers, got " .. tostring(id)) end
    end
  elseif ids ~= nil then
    self:problem(label .. " takes no ids")
  end
  local ok, result = pcall(API[method], self, model, ids, kw)
  if not ok then
    if type(result) == "table" and result.odoo_error then
      self.trace[#self.trace + 1] = label .. " -> " .. result.name
      entry.failed = result.name
      return nil, result
    end
    error(result, 0)
  end
  self.trace[#self.trace + 1] = label
  return result
end

-- ---------------------------------------------------------------------------------------------------------------
-- Models

function Fake:_table(model)
  self.records[model] = self.records[model] or {}
  return self.records[model]
end

function Fake:_existing(model, id)
  local rec = self:_table(model)[id]
  if not rec then
    odoo_error("odoo.exceptions.MissingError",
      ("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)"):format(model, id, self.uid))
  end
  return rec
end

local function matches(rec, domain)
  for _, term in ipairs(domain) do
    local field, operator, value = term[1], term[2], term[3]
    local have = rec[field]
    if have == nil then have = false end   -- an unset field reads (and searches) as False in Odoo
    if operator == "=" then
      if have ~= value then return false end
    elseif operator == "!=" then
      if have == value then return false end
    elseif operator == "in" then
      local found = false
      for _, v in ipairs(value) do if v == have then found = true end end
      if not found then return false end
    else
      return false, "operator " .. tostring(operator) .. " is not supported"
    end
  end
  return true
end

function Fake:_search(model, _, kw)
  local domain = kw.domain
  if not is_list(domain) then self:problem(model .. ".search: domain must be a list of terms") end
  for _, term in ipairs(domain) do
    if not is_list(term) or #term ~= 3 or type(term[1]) ~= "string" then
      self:problem(model .. ".search: each domain term is [field, operator, value], got " .. json.encode(term))
    end
  end
  local ids = {}
  for _, rec in ipairs(self:all(model)) do
    local hit, unsupported = matches(rec, domain)
    if unsupported then self:problem(model .. ".search: " .. unsupported) end
    if hit then ids[#ids + 1] = rec.id end
    if kw.limit and #ids >= kw.limit then break end
  end
  return json.array(ids)
end

function Fake:_read(model, ids, kw)
  if not is_list(kw.fields) then self:problem(model .. ".read: give the fields to read") end
  local rows = {}
  for i, id in ipairs(ids) do
    local rec = self:_existing(model, id)
    local row = { id = id }
    for _, field in ipairs(kw.fields) do
      local value = rec[field]
      local o2m = ONE2MANY[model] and ONE2MANY[model][field]
      if o2m or MANY2MANY[field] then
        row[field] = json.array(copy(value or {}))
      elseif MANY2ONE[field] and math.type(value) == "integer" then
        local target = self:record(MANY2ONE[field], value)
        row[field] = json.array({ value, target and (target.name or target.display_name) or "?" })
      elseif value == nil then
        row[field] = false
      else
        row[field] = copy(value)
      end
    end
    rows[i] = row
  end
  return json.array(rows)
end

function Fake:_search_read(model, _, kw)
  local ids = self:_search(model, nil, { domain = kw.domain, limit = kw.limit })
  return self:_read(model, ids, { fields = kw.fields or {} })
end

function Fake:_recompute(model, rec)
  if model ~= "account.move" then return end
  local total = 0
  for _, line_id in ipairs(rec.invoice_line_ids or {}) do
    local line = self:record("account.move.line", line_id)
    total = total + (line.quantity or 1) * (line.price_unit or 0)
  end
  rec.amount_total = total
  if rec.state == "draft" then rec.amount_residual = total end
end

-- Field values as Odoo would take them: ids are integers of existing records, one2many fields are command lists.
function Fake:_apply(model, rec, values)
  if type(values) ~= "table" or is_list(values) and next(values) ~= nil then
    self:problem(model .. ": values must be an object of fields")
  end
  for field, value in pairs(values) do
    if type(field) ~= "string" then self:problem(model .. ": field names are strings") end
    local o2m = ONE2MANY[model] and ONE2MANY[model][field]
    if o2m then
      if not is_list(value) then self:problem(("%s.%s takes a list of commands"):format(model, field)) end
      local current = rec[field] or {}
      for _, command in ipairs(value) do
        if not is_list(command) or #command ~= 3 then
          self:problem(("%s.%s: a command is [code, id, values], got %s"):format(model, field, json.encode(command)))
        end
        local code = command[1]
        if code == 0 then
          if command[2] ~= 0 or type(command[3]) ~= "table" then self:problem(field .. ": create is [0, 0, values]") end
          local line_values = copy(command[3])
          line_values[INVERSE[o2m]] = rec.id
          current[#current + 1] = self:_new_record(o2m, line_values)
        elseif code == 2 then
          local kept, found = {}, false
          for _, line_id in ipairs(current) do
            if line_id == command[2] then found = true else kept[#kept + 1] = line_id end
          end
          if not found then self:problem(("%s.%s: no line %s to delete"):format(model, field, tostring(command[2]))) end
          self:_table(o2m)[command[2]] = nil
          current = kept
        else
          self:problem(("%s.%s: command %s is not one the connector should send"):format(model, field, tostring(code)))
        end
      end
      rec[field] = current
    elseif MANY2MANY[field] then
      rec[field] = self:_many2many(model, field, rec[field] or {}, value)
    elseif MANY2ONE[field] then
      if value ~= false and math.type(value) ~= "integer" then
        self:problem(("%s.%s must be a record id, got %s"):format(model, field, json.encode(value)))
      end
      if value and not self:record(MANY2ONE[field], value) then
        self:problem(("%s.%s: no %s with id %d"):format(model, field, MANY2ONE[field], value))
      end
      rec[field] = value
    else
      if type(value) == "table" and not is_list(value) then
        self:problem(("%s.%s: an unresolved marker or object was sent: %s"):format(model, field, json.encode(value)))
      end
      rec[field] = copy(value)
    end
  end
end

function Fake:_new_record(model, values)
  local records = self:_table(model)
  self.next_id = self.next_id + 1
  local id = self.next_id
  local rec = { id = id }
  if model == "account.move" then
    rec.state, rec.payment_state, rec.name, rec.move_type = "draft", "not_paid", "/", "entry"
  elseif model == "account.payment" then
    rec.state = "draft"
  elseif M.DEFAULTS[model] then
    M.DEFAULTS[model](self, rec)
  elseif model == "ir.model.data" then
    local v = values
    if type(v.module) ~= "string" or type(v.name) ~= "string" or type(v.model) ~= "string" or math.type(v.res_id) ~= "integer" then
      self:problem("ir.model.data needs module, name, model and res_id: " .. json.encode(v))
    end
    for _, row in pairs(records) do
      if row.module == v.module and row.name == v.name then
        odoo_error("psycopg2.errors.UniqueViolation",
          'duplicate key value violates unique constraint "ir_model_data_module_name_uniq_index"')
      end
    end
    if not self:record(v.model, v.res_id) then
      self:problem(("ir.model.data %s.%s names %s %d, which does not exist"):format(v.module, v.name, v.model, v.res_id))
    end
  end
  records[id] = rec
  self:_apply(model, rec, values)
  self:_recompute(model, rec)
  return id
end

function Fake:_create_rpc(model, kw)
  local vals_list = kw.vals_list
  if not is_list(vals_list) or #vals_list == 0 then self:problem(model .. ".create takes vals_list, a list of records") end
  local ids = {}
  for i, values in ipairs(vals_list) do ids[i] = self:_new_record(model, values) end
  return json.array(ids)
end

function API.create(self, model, _, kw)
  if model == "account.payment.register" then return self:_register_wizard(kw) end
  return self:_create_rpc(model, kw)
end

function API.write(self, model, ids, kw)
  if type(kw.vals) ~= "table" then self:problem(model .. ".write takes vals") end
  for _, id in ipairs(ids) do
    local rec = self:_existing(model, id)
    if model == "account.move" and rec.state ~= "draft" then
      odoo_error("odoo.exceptions.UserError", ("You cannot modify the %s entry %s: reset it to draft first."):format(rec.state, rec.name))
    end
    self:_apply(model, rec, kw.vals)
    self:_recompute(model, rec)
  end
  return true
end

function API.unlink(self, model, ids)
  for _, id in ipairs(ids) do
    local rec = self:_existing(model, id)
    if model == "account.move" and rec.state ~= "draft" then
      odoo_error("odoo.exceptions.UserError", "You cannot delete an entry which has been posted once.")
    end
    self:remove(model, id)
  end
  return true
end

function API.action_post(self, model, ids)
  for _, id in ipairs(ids) do
    local rec = self:_existing(model, id)
    if model == "account.move" then
      if rec.state ~= "draft" then
        odoo_error("odoo.exceptions.UserError", ("The entry %s (id %d) is already posted."):format(rec.name, id))
      end
      if #(rec.invoice_line_ids or {}) == 0 then odoo_error("odoo.exceptions.UserError", "You need to add a line before posting.") end
      if not rec.partner_id then
        odoo_error("odoo.exceptions.UserError", "The field 'Customer' is required, please complete it to validate the Customer Invoice.")
      end
      self.sequence = self.sequence + 1
      rec.state, rec.name = "posted", ("INV/2026/%05d"):format(self.sequence)
      rec.amount_residual, rec.payment_state = rec.amount_total, "not_paid"
    elseif model == "account.payment" then
      if rec.state ~= "draft" then odoo_error("odoo.exceptions.UserError", "Only a draft payment can be posted.") end
      rec.state = "in_process"
    else
      self:problem(model .. " has no action_post")
    end
  end
  return true
end

function Fake:_register_wizard(kw)
  local context = kw.context
  if type(context) ~= "table" or context.active_model ~= "account.move" or not is_list(context.active_ids) then
    self:problem("account.payment.register needs context active_model account.move and active_ids, got " .. json.encode(context or {}))
  end
  if not is_list(kw.vals_list) or #kw.vals_list ~= 1 then self:problem("one wizard at a time") end
  local values = kw.vals_list[1]
  for field in pairs(values) do
    if field ~= "amount" and field ~= "payment_date" and field ~= "communication" and field ~= "journal_id" then
      self:problem("account.payment.register has no field " .. tostring(field))
    end
  end
  for _, invoice_id in ipairs(context.active_ids) do
    local invoice = self:_existing("account.move", invoice_id)
    if invoice.state ~= "posted" then
      odoo_error("odoo.exceptions.UserError", "You can only register payment for posted journal entries.")
    end
    if (invoice.amount_residual or 0) <= 0 then
      odoo_error("odoo.exceptions.UserError",
        "You can't register a payment because there is nothing left to pay on the selected journal items.")
    end
  end
  local wizard = self:_new_record("account.payment.register", {})
  local rec = self:record("account.payment.register", wizard)
  rec.values, rec.invoices = copy(values), copy(context.active_ids)
  return json.array({ wizard })
end

function API.action_create_payments(self, model, ids)
  if model ~= "account.payment.register" then self:problem(model .. " has no action_create_payments") end
  local wizard = self:_existing(model, ids[1])
  local values, invoice = wizard.values, self:record("account.move", wizard.invoices[1])
  local payment = self:_new_record("account.payment", {
    payment_type = "inbound", partner_type = "customer", partner_id = invoice.partner_id, amount = values.amount,
    date = values.payment_date, memo = values.communication, journal_id = values.journal_id or self.ids.bank,
  })
  self:record("account.payment", payment).state = "in_process"
  invoice.amount_residual = invoice.amount_residual - (values.amount or invoice.amount_residual)
  invoice.payment_state = invoice.amount_residual <= 0.005 and "paid" or "partial"
  if self.action_result == "true" then return true end
  return { type = "ir.actions.act_window", name = "Payments", res_model = "account.payment", res_id = payment,
           view_mode = "form", context = { create = false } }
end

-- A many2many value: the command list applied to the current ids.
function Fake:_many2many(model, field, current, commands)
  local where = ("%s.%s"):format(model, field)
  if not is_list(commands) then self:problem(where .. " takes a list of commands like [[6, 0, ids]]") end
  local ids = copy(current)
  for _, command in ipairs(commands) do
    if not is_list(command) then self:problem(where .. ": a command is a list, got " .. json.encode(command)) end
    local code = command[1]
    if code == 6 then
      if #command ~= 3 or command[2] ~= 0 or not is_list(command[3]) then self:problem(where .. ": replace is [6, 0, ids]") end
      ids = {}
      for _, id in ipairs(command[3]) do ids[#ids + 1] = id end
    elseif code == 4 or code == 3 then
      local kept = {}
      for _, id in ipairs(ids) do if id ~= command[2] then kept[#kept + 1] = id end end
      if code == 4 then kept[#kept + 1] = command[2] end
      ids = kept
    else
      self:problem(("%s: command %s is not one the connector should send"):format(where, tostring(code)))
    end
  end
  for _, id in ipairs(ids) do
    if math.type(id) ~= "integer" or not self:record(MANY2MANY[field], id) then
      self:problem(("%s: no %s with id %s"):format(where, MANY2MANY[field], tostring(id)))
    end
  end
  return ids
end

API.search = Fake._search
API.read = Fake._read
API.search_read = Fake._search_read

-- Purchases, receipts, stock and the chatter: in their own file (spec/fake_odoo_supply.lua).
M.DEFAULTS = {}
require("spec.fake_odoo_supply").install({ M = M, Fake = Fake, API = API, odoo_error = odoo_error, copy = copy })

return M
