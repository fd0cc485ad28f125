-- supplier-portal: a connector plugin. Sends a confirmed purchase order to the supplier's portal (the contract
-- `conflux simulate supplier` speaks):
--
--   POST <ctx.config.url>/api/v1/orders
--   Authorization: Bearer <secret ctx.config.api_key_secret>   (the host substitutes the value at send time)
--   Idempotency-Key: <order_ref>                                (the Odoo order name: a resend is the same order)
--   Content-Type: application/json
--   {"order_ref","buyer","site","ship_to","requested_date","lines":[{"sku","quantity","unit_price"}]}
--
-- Answers:
--   201 {"id":"SO-…","order_ref","status":"received"}  → { order_ref, supplier_order_id, status, duplicate = false }
--   200, the same body, for a repeated Idempotency-Key   → the same, duplicate = true
--   422 {"error":{"code":"unknown_sku"|"invalid","field":"lines[1].sku","message":…}} → permanent, code/field/message kept
--   401 → permanent (the key); 408 → retryable; 429, 5xx, timeouts → http.request raises them retryable (Retry-After
--   kept); any other status, or a 2xx that is not this order's receipt → permanent.
-- The operation (from the purchase-supplier mapping): { op = "send_order", order = { the body above } }, or
-- { skip = reason } (an order for another supplier), which sends nothing.
--
-- The request goes through M._send so specs can replace it (plugin tests have no network).
local http = require("http")
local json = require("json")
local conflux = require("conflux")

local M = { kind = "connector" }

M.PATH = "/api/v1/orders"
M.TIMEOUT_MS = 15000
M.MAX_ERROR_TEXT = 300

function M._send(request) return http.request(request) end

local function permanent(message) error(conflux.permanent(message), 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(#value > 40 and value:sub(1, 40) .. "…" or value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function is_object(value) return type(value) == "table" and value ~= json.null and not json.is_array(value) end

local function string_at(value, path)
  if type(value) ~= "string" or value == "" then permanent(("%s: expected a non-empty string, got %s"):format(path, describe_value(value))) end
  return value
end

local function number_at(value, path, positive)
  if type(value) ~= "number" or value < 0 or (positive and value == 0) then
    permanent(("%s: expected a %s number, got %s"):format(path, positive and "positive" or "non-negative", describe_value(value)))
  end
  return value
end

-- The body, checked before anything is sent: a dead letter names the field the mapping got wrong.
local function body_of(order)
  if not is_object(order) then permanent("$.order: expected an object, got " .. describe_value(order)) end
  local body = {
    order_ref = string_at(order.order_ref, "$.order.order_ref"),
    buyer = string_at(order.buyer, "$.order.buyer"),
    site = string_at(order.site, "$.order.site"),
    ship_to = string_at(order.ship_to, "$.order.ship_to"),
  }
  if order.requested_date ~= nil then
    local date = string_at(order.requested_date, "$.order.requested_date")
    if not date:match("^%d%d%d%d%-%d%d%-%d%d$") then permanent(("$.order.requested_date: %q is not a date YYYY-MM-DD"):format(date)) end
    body.requested_date = date
  end
  local lines = order.lines
  if type(lines) ~= "table" or lines == json.null or #lines == 0 then
    permanent("$.order.lines: expected a non-empty array of lines, got " .. describe_value(lines))
  end
  local out = {}
  for i, line in ipairs(lines) do
    local path = ("$.order.lines[%d]"):format(i)
    if not is_object(line) then permanent(("%s: expected an object, got %s"):format(path, describe_value(line))) end
    out[i] = { sku = string_at(line.sku, path .. ".sku"), quantity = number_at(line.quantity, path .. ".quantity", true),
               unit_price = number_at(line.unit_price, path .. ".unit_price", false) }
  end
  body.lines = json.array(out)
  return body
end

local function config_of(ctx)
  local config = type(ctx) == "table" and ctx.config or nil
  if not is_object(config) then permanent("ctx.config: missing; the catalog entry's config: block must give url and api_key_secret") end
  local url = config.url
  if type(url) ~= "string" or not url:match("^https?://[^/?#]+") then
    permanent(("ctx.config.url: expected the portal's origin like https://portal.medsupply.example, got %s"):format(describe_value(url)))
  end
  local name = config.api_key_secret
  if type(name) ~= "string" or name == "" then
    permanent(("ctx.config.api_key_secret: expected the name of the API key secret, got %s"):format(describe_value(name)))
  end
  return (url:gsub("/+$", "")), name
end

local function decoded(response)
  if response.json ~= nil then return response.json end
  if type(response.body) == "string" and response.body ~= "" then
    local ok, value = pcall(json.decode, response.body)
    if ok then return value end
  end
  return nil
end

local function excerpt(response)
  local body = tostring(response.body or "")
  if #body > M.MAX_ERROR_TEXT then body = body:sub(1, M.MAX_ERROR_TEXT) .. "…" end
  return body
end

function M.deliver(op, ctx)
  if not is_object(op) then permanent("operation: expected an object, got " .. describe_value(op)) end
  if op.skip ~= nil then
    if type(op.skip) ~= "string" or op.skip == "" then permanent("$.skip: expected the reason nothing is sent, got " .. describe_value(op.skip)) end
    return { skipped = op.skip }
  end
  if op.op ~= "send_order" then permanent(("$.op: expected \"send_order\", got %s"):format(describe_value(op.op))) end
  local body = body_of(op.order)
  local base, secret_name = config_of(ctx)
  local ref = body.order_ref

  local response = M._send({
    method = "POST",
    url = base .. M.PATH,
    headers = {
      ["Authorization"] = secret.join("Bearer ", secret(secret_name)),
      ["Idempotency-Key"] = ref,
      ["Accept"] = "application/json",
    },
    json = body,
    timeout_ms = M.TIMEOUT_MS,
  })

  local status, answer = response.status, decoded(response)
  if status == 201 or status == 200 then
    if not is_object(answer) or type(answer.id) ~= "string" or answer.id == "" then
      permanent(("supplier portal answered %d for order %s without the order's id: %s"):format(status, ref, excerpt(response)))
    end
    if answer.order_ref ~= ref then
      permanent(("supplier portal answered %d for order %s with the receipt of order %s"):format(status, ref, tostring(answer.order_ref)))
    end
    return { order_ref = ref, supplier_order_id = answer.id, status = answer.status, duplicate = status == 200 }
  end
  if status == 422 then
    local problem = is_object(answer) and is_object(answer.error) and answer.error or nil
    if problem then
      permanent(("supplier portal refused order %s: %s at %s: %s"):format(ref, tostring(problem.code or "invalid"),
        tostring(problem.field or "?"), tostring(problem.message or "no message")))
    end
    permanent(("supplier portal refused order %s (HTTP 422): %s"):format(ref, excerpt(response)))
  end
  if status == 401 then
    permanent(("supplier portal refused the API key (HTTP 401) for order %s; check the secret %s"):format(ref, secret_name))
  end
  if status == 408 then
    error(conflux.retryable(("supplier portal timed out reading order %s (HTTP 408)"):format(ref)), 0)
  end
  permanent(("supplier portal answered HTTP %d for order %s: %s"):format(status, ref, excerpt(response)))
end

return M
