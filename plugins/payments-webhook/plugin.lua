-- payments-webhook: a source plugin. The payment gateway's webhook events (Stripe's event format) become the
-- canonical payment events the mappings book in Odoo:
--
--   payment_intent.succeeded → payment.received  (money for one service arrived)
--   charge.refunded          → payment.refunded  (money for one service went back; the event carries the charge's
--                                                 refunded total, so a second partial refund is a larger total)
--
-- Every other event type is acknowledged and ignored (an empty list), so the gateway stops retrying it.
--
-- The host has checked the webhook's signature before this runs (the flow's `auth` block). This plugin checks the
-- content: every field it uses must be there with the right type, and each problem is reported with its JSON path
-- (`$.data.object.amount_received`), so a dead letter says exactly what the gateway sent wrong.
--
-- Amounts stay integers in minor units (cents) end to end; a fractional or float amount is refused rather than
-- rounded. The service id travels in the payment's metadata (`metadata.service_id`, set by the checkout): it is what
-- ties the money to the Odoo invoice `conflux.service_<service id>`.
local json = require("json")

local M = { kind = "source" }

-- Ids end up inside Odoo external ids (`conflux.payment_<pi id>`), so they must be what the odoo connector takes in a key.
local ID_PATTERN = "^[%w][%w_.%-]*$"

local function fail(path, message)
  error(path .. ": " .. message, 0)
end

local function describe_type(value)
  if value == nil then return "nothing" end
  if value == json.null then return "null" end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  if math.type(value) == "float" then return "a float (" .. tostring(value) .. ")" end
  if type(value) == "number" then return "a number (" .. tostring(value) .. ")" end
  if type(value) == "string" then return ("a string (%q)"):format(value) end
  return "a " .. type(value)
end

local function object_at(value, path)
  if type(value) ~= "table" or json.is_array(value) then
    fail(path, "expected an object, found " .. describe_type(value))
  end
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
  if not id:match(ID_PATTERN) then
    fail(path, ("%q is not an id (letters, digits, '_', '-' and '.', starting with a letter or digit)"):format(id))
  end
  return id
end

-- A minor-unit amount: an integer (JSON `12500`, not `125.0` or `"12500"`).
local function cents_at(value, path, allow_zero)
  if value == nil or value == json.null then fail(path, "missing") end
  if math.type(value) ~= "integer" then
    fail(path, "expected an integer amount in minor units (cents), found " .. describe_type(value))
  end
  if value < 0 or (value == 0 and not allow_zero) then
    fail(path, ("amount %d must be %s"):format(value, allow_zero and "zero or more" or "positive"))
  end
  return value
end

local function currency_at(value, path)
  local code = string_at(value, path)
  if not code:match("^%a%a%a$") then fail(path, ("%q is not an ISO 4217 currency code"):format(code)) end
  return code:upper()
end

-- A reference that the gateway sends as an id, or as the object itself when the webhook expands it.
local function reference_at(value, path)
  if type(value) == "table" then return id_at(value.id, path .. ".id") end
  return id_at(value, path)
end

local function service_id_at(object, path)
  local metadata = object.metadata
  if metadata == nil or metadata == json.null then
    fail(path .. ".metadata.service_id", "missing (the checkout must put the service id in the metadata)")
  end
  object_at(metadata, path .. ".metadata")
  if metadata.service_id == nil or metadata.service_id == json.null then
    fail(path .. ".metadata.service_id", "missing (the checkout must put the service id in the metadata)")
  end
  return id_at(metadata.service_id, path .. ".metadata.service_id")
end

-- The event's `created` (epoch seconds) as the booking date, in UTC.
local function date_at(value, path)
  if value == nil or value == json.null then fail(path, "missing") end
  if math.type(value) ~= "integer" then fail(path, "expected epoch seconds (an integer), found " .. describe_type(value)) end
  if value < 0 then fail(path, ("%d is before 1970"):format(value)) end
  return os.date("!%Y-%m-%d", value)
end

local function expect_object_kind(object, kind, path)
  local found = object.object
  if found ~= kind then
    fail(path .. ".object", ("expected %q, found %s"):format(kind, describe_type(found)))
  end
end

local function _payment_received(event, object, date)
  local path = "$.data.object"
  expect_object_kind(object, "payment_intent", path)
  local id = id_at(object.id, path .. ".id")
  cents_at(object.amount, path .. ".amount", false)
  local received = cents_at(object.amount_received, path .. ".amount_received", false)
  if object.latest_charge == nil or object.latest_charge == json.null then
    fail(path .. ".latest_charge", "missing (a succeeded payment intent has a charge)")
  end
  return {
    type = "payment.received",
    idempotency_key = event.id,
    payment = {
      id = id,
      amount_cents = received,
      currency = currency_at(object.currency, path .. ".currency"),
      service_id = service_id_at(object, path),
      date = date,
      charge = reference_at(object.latest_charge, path .. ".latest_charge"),
    },
  }
end

-- `refunds`, when the gateway includes it, is a list object; its entries are checked so a malformed one is named.
local function _refund_ids(refunds, path)
  if refunds == nil or refunds == json.null then return nil end
  object_at(refunds, path)
  local data = refunds.data
  if type(data) ~= "table" or not json.is_array(data) then
    fail(path .. ".data", "expected an array of refunds, found " .. describe_type(data))
  end
  local ids = {}
  for i, refund in ipairs(data) do
    local at = ("%s.data[%d]"):format(path, i - 1)
    object_at(refund, at)
    ids[i] = { id = id_at(refund.id, at .. ".id"), amount_cents = cents_at(refund.amount, at .. ".amount", false) }
  end
  return json.array(ids)
end

local function _payment_refunded(event, object, date)
  local path = "$.data.object"
  expect_object_kind(object, "charge", path)
  local charge = id_at(object.id, path .. ".id")
  local refunded = cents_at(object.amount_refunded, path .. ".amount_refunded", false)
  if object.payment_intent == nil or object.payment_intent == json.null then
    fail(path .. ".payment_intent", "missing (only charges of a payment intent are booked)")
  end
  if object.amount ~= nil then
    local amount = cents_at(object.amount, path .. ".amount", false)
    if refunded > amount then
      fail(path .. ".amount_refunded", ("%d is more than the charge's amount %d"):format(refunded, amount))
    end
  end
  return {
    type = "payment.refunded",
    idempotency_key = event.id,
    refund = {
      charge = charge,
      payment_intent = reference_at(object.payment_intent, path .. ".payment_intent"),
      refunded_total_cents = refunded,   -- the charge's refunds so far, in all (Stripe's amount_refunded)
      currency = currency_at(object.currency, path .. ".currency"),
      service_id = service_id_at(object, path),
      date = date,
      refunds = _refund_ids(object.refunds, path .. ".refunds"),
    },
  }
end

local handlers = {
  ["payment_intent.succeeded"] = _payment_received,
  ["charge.refunded"] = _payment_refunded,
}

function M.decode(payload, ctx)
  if type(payload) ~= "string" or payload == "" then fail("$", "empty payload: expected a webhook event (JSON)") end
  local ok, event = pcall(json.decode, payload)
  if not ok then fail("$", "not JSON: " .. tostring(event):gsub("^json%.decode: ", "")) end
  object_at(event, "$")
  local kind = string_at(event.type, "$.type")
  local handler = handlers[kind]
  if handler == nil then return json.array({}) end
  id_at(event.id, "$.id")
  local date = date_at(event.created, "$.created")
  local data = object_at(event.data, "$.data")
  local object = object_at(data.object, "$.data.object")
  return { handler(event, object, date) }
end

return M
