-- supplier-portal-events: a source plugin for the supplier portal (MedSupply Direct).
--
-- Webhooks (POST /ingest/supplier-portal-events; Standard Webhooks signature — webhook-id, webhook-timestamp,
-- webhook-signature — checked by the host before this runs; this plugin only decodes):
--
--   order.acknowledged → supplier.acknowledged
--     { type, idempotency_key = "supplier-portal:<evt id>", occurred_at = created (UTC),
--       order = { name = order_ref, supplier_order_id, promised_date = "YYYY-MM-DD",
--                 lines = { { sku, quantity_confirmed }, … } } }
--   order.delivered → goods.received
--     { type, idempotency_key, occurred_at = delivered_at,
--       delivery = { id = delivery_id, order = order_ref, supplier_order_id, site, delivered_at,
--                    lines = { { sku, quantity_delivered }, … } } }
--   any other type → acknowledged and ignored (an empty list)
--
-- The scheduled `poll` hook (a flow's schedule, hook: poll; also reachable as `_balances`) asks the portal what it
-- counted on each site's shelves — GET <url>/api/v1/sites/<site>/balances, bearer API key, sites from config — and
-- returns one `stock.counted` per site:
--     { type, idempotency_key = "supplier-portal:balances:<site>:<counted_at>", occurred_at = counted_at, site,
--       counted_at, items = { { sku, quantity }, … } }
--
-- Errors name the JSON path of what the portal sent wrong ($.data.lines[2].sku; indexes count from 1).
-- Ids that end up in Odoo external ids (order_ref, delivery_id) must be letters, digits, '_', '.', '-'.
local json = require("json")
local http = require("http")
local conflux = require("conflux")
local time = require("time")

local M = { kind = "source" }

M.TIMEOUT_MS = 10000

function M._send(request) return http.request(request) end

local ID_PATTERN = "^[%w][%w_.%-]*$"

local function fail(path, message) error(path .. ": " .. message, 0) end

local function describe_type(value)
  if value == nil then return "nothing" end
  if value == json.null then return "null" end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  if type(value) == "number" then return "a number (" .. tostring(value) .. ")" end
  if type(value) == "string" then return ("a string (%q)"):format(#value > 40 and value:sub(1, 40) .. "…" or value) end
  return "a " .. type(value)
end

local function is_object(value) return type(value) == "table" and value ~= json.null and not json.is_array(value) end

local function object_at(value, path)
  if not is_object(value) then fail(path, "expected an object, found " .. describe_type(value)) end
  return value
end

local function string_at(value, path)
  if value == nil or value == json.null then fail(path, "missing") end
  if type(value) ~= "string" then fail(path, "expected a string, found " .. describe_type(value)) end
  if value == "" then fail(path, "must not be empty") end
  return value
end

local function id_at(value, path)
  local id = string_at(value, path)
  if not id:match(ID_PATTERN) then fail(path, ("%q is not an id (letters, digits, '_', '.', '-')"):format(id)) end
  return id
end

local function quantity_at(value, path)
  if value == nil or value == json.null then fail(path, "missing") end
  if type(value) ~= "number" then fail(path, "expected a number, found " .. describe_type(value)) end
  if value < 0 then fail(path, ("%s must not be negative"):format(tostring(value))) end
  return value
end

local function date_at(value, path)
  local date = string_at(value, path)
  if not date:match("^%d%d%d%d%-%d%d%-%d%d$") then fail(path, ("%q is not a date YYYY-MM-DD"):format(date)) end
  return date
end

-- An instant with its zone ("2026-11-22T15:40:00Z", "…-05:00"): a time without one could be any hour.
local function instant_at(value, path)
  local text = string_at(value, path)
  if not text:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%.%d]*[Zz+-]") or not time.parse_iso8601(text) then
    fail(path, ("%q is not an ISO 8601 date-time with a zone"):format(text))
  end
  return text
end

-- A non-empty array of { sku, <quantity field> }.
local function lines_at(value, path, quantity_field)
  if type(value) ~= "table" or not json.is_array(value) then fail(path, "expected an array of lines, found " .. describe_type(value)) end
  if #value == 0 then fail(path, "must not be empty") end
  local out = {}
  for i, line in ipairs(value) do
    local at = ("%s[%d]"):format(path, i)
    object_at(line, at)
    out[i] = { sku = string_at(line.sku, at .. ".sku"), [quantity_field] = quantity_at(line[quantity_field], at .. "." .. quantity_field) }
  end
  return json.array(out)
end

local function acknowledged(event, data)
  return {
    type = "supplier.acknowledged",
    occurred_at = os.date("!%Y-%m-%dT%H:%M:%SZ", event.created),
    order = {
      name = id_at(data.order_ref, "$.data.order_ref"),
      supplier_order_id = string_at(data.supplier_order_id, "$.data.supplier_order_id"),
      promised_date = date_at(data.promised_date, "$.data.promised_date"),
      lines = lines_at(data.lines, "$.data.lines", "quantity_confirmed"),
    },
  }
end

local function delivered(_, data)
  local at = instant_at(data.delivered_at, "$.data.delivered_at")
  return {
    type = "goods.received",
    occurred_at = at,
    delivery = {
      id = id_at(data.delivery_id, "$.data.delivery_id"),
      order = id_at(data.order_ref, "$.data.order_ref"),
      supplier_order_id = string_at(data.supplier_order_id, "$.data.supplier_order_id"),
      site = id_at(data.site, "$.data.site"),
      delivered_at = at,
      lines = lines_at(data.lines, "$.data.lines", "quantity_delivered"),
    },
  }
end

local handlers = { ["order.acknowledged"] = acknowledged, ["order.delivered"] = delivered }

function M.decode(payload, ctx)
  if type(payload) ~= "string" or payload == "" then fail("$", "empty payload: expected a webhook event (JSON)") end
  local ok, event = pcall(json.decode, payload)
  if not ok then fail("$", "not JSON: " .. tostring(event):gsub("^json%.decode: ", "")) end
  object_at(event, "$")
  local handler = handlers[string_at(event.type, "$.type")]
  if handler == nil then return json.array({}) end
  local id = id_at(event.id, "$.id")
  if math.type(event.created) ~= "integer" or event.created < 0 then
    fail("$.created", "expected epoch seconds (an integer), found " .. describe_type(event.created))
  end
  local decoded = handler(event, object_at(event.data, "$.data"))
  decoded.idempotency_key = "supplier-portal:" .. id
  return { decoded }
end

-- ---------------------------------------------------------------------------------------------------------------
-- Balances (scheduled)

local function config_of(ctx)
  local config = type(ctx) == "table" and ctx.config or nil
  if not is_object(config) then
    error(conflux.permanent("ctx.config: missing; the catalog entry's config: block must give url, api_key_secret and sites"), 0)
  end
  if type(config.url) ~= "string" or not config.url:match("^https?://[^/?#]+") then
    error(conflux.permanent("ctx.config.url: expected the portal's origin, found " .. describe_type(config.url)), 0)
  end
  if type(config.api_key_secret) ~= "string" or config.api_key_secret == "" then
    error(conflux.permanent("ctx.config.api_key_secret: expected the name of the API key secret, found " .. describe_type(config.api_key_secret)), 0)
  end
  if type(config.sites) ~= "table" or #config.sites == 0 then
    error(conflux.permanent("ctx.config.sites: expected the list of sites to count, found " .. describe_type(config.sites)), 0)
  end
  for i, site in ipairs(config.sites) do
    if type(site) ~= "string" or not site:match(ID_PATTERN) then
      error(conflux.permanent(("ctx.config.sites[%d]: %s is not a site id"):format(i, describe_type(site))), 0)
    end
  end
  return (config.url:gsub("/+$", "")), config.api_key_secret, config.sites
end

-- One site's balance, checked: the answer's problems name the URL and the JSON path, permanently (the portal sent
-- something this contract does not allow; retrying will not change it).
local function balance(url, secret_name, site)
  local response = M._send({
    method = "GET", url = url, timeout_ms = M.TIMEOUT_MS,
    headers = { ["Authorization"] = secret.join("Bearer ", secret(secret_name)), ["Accept"] = "application/json" },
  })
  if response.status == 401 then
    error(conflux.permanent(("GET %s: the portal refused the API key (HTTP 401); check the secret %s"):format(url, secret_name)), 0)
  end
  if response.status ~= 200 then
    error(conflux.permanent(("GET %s: the portal answered HTTP %d: %s"):format(url, response.status, tostring(response.body or ""):sub(1, 200))), 0)
  end
  local ok, event = pcall(function()
    local body = response.json
    if body == nil then
      local decoded_ok, value = pcall(json.decode, response.body or "")
      if not decoded_ok then fail("$", "not JSON") end
      body = value
    end
    object_at(body, "$")
    if string_at(body.site, "$.site") ~= site then fail("$.site", ("the balance of %q, not of %q"):format(body.site, site)) end
    local counted_at = instant_at(body.counted_at, "$.counted_at")
    if type(body.items) ~= "table" or not json.is_array(body.items) then fail("$.items", "expected an array, found " .. describe_type(body.items)) end
    local items = {}
    for i, item in ipairs(body.items) do
      local at = ("$.items[%d]"):format(i)
      object_at(item, at)
      items[i] = { sku = string_at(item.sku, at .. ".sku"), quantity = quantity_at(item.quantity, at .. ".quantity") }
    end
    return { type = "stock.counted", idempotency_key = ("supplier-portal:balances:%s:%s"):format(site, counted_at),
             occurred_at = counted_at, site = site, counted_at = counted_at, items = json.array(items) }
  end)
  if not ok then error(conflux.permanent(("GET %s: %s"):format(url, tostring(event))), 0) end
  return event
end

function M._balances(input, ctx)
  local base, secret_name, sites = config_of(ctx)
  local events = {}
  for i, site in ipairs(sites) do
    events[i] = balance(("%s/api/v1/sites/%s/balances"):format(base, site), secret_name, site)
  end
  return json.array(events)
end

function M.poll(input, ctx) return M._balances(input, ctx) end

return M
