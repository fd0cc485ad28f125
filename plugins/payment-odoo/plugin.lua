-- payment-odoo: a mapping plugin. The canonical payment events (from payments-webhook) become operations for the
-- `odoo` connector (plugins/odoo/README.md):
--
--   payment.received → register_payment on the service's invoice (Odoo posts the payment and reconciles it)
--   payment.refunded → refund: an outbound payment to the invoice's partner
--
-- The invoice is found by its external id `conflux.service_<service id>`, which the invoicing mapping gave it; if the
-- payment arrives before the invoice is in Odoo, the connector answers retryable and the payment waits for it.
-- Each operation has its own external id (`conflux.payment_<payment intent>`, `conflux.refund_<charge>_<total cents>`),
-- so a redelivered event registers nothing twice.
--
-- Amounts arrive in integer cents and are divided once, here, into the currency units Odoo books. The clinic books in
-- USD only: a payment in another currency is refused (it needs a finance decision, not an automatic booking).
local json = require("json")

local M = { kind = "mapping" }

local BOOKING_CURRENCY = "USD"
local BANK_JOURNAL = { lookup = { model = "account.journal", domain = { { "code", "=", "BNK1" } } } }

-- Ids become parts of Odoo external ids, so they must be plain tokens.
local ID_PATTERN = "^[%w][%w_.%-]*$"

local function fail(path, message)
  error(path .. ": " .. message, 0)
end

local function describe_type(value)
  if value == nil then return "nothing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("a string (%q)"):format(value) end
  if math.type(value) == "float" then return "a float (" .. tostring(value) .. ")" end
  if type(value) == "number" then return "a number (" .. tostring(value) .. ")" end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return "a " .. type(value)
end

local function object_at(value, path)
  if type(value) ~= "table" or json.is_array(value) then fail(path, "expected an object, found " .. describe_type(value)) end
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
    fail(path, ("%q cannot be part of an Odoo external id (letters, digits, '_', '-' and '.')"):format(id))
  end
  return id
end

local function cents_at(value, path)
  if value == nil or value == json.null then fail(path, "missing") end
  if math.type(value) ~= "integer" then fail(path, "expected integer cents, found " .. describe_type(value)) end
  if value <= 0 then fail(path, ("%d cents: the amount must be positive"):format(value)) end
  return value
end

local function usd_at(value, path)
  local currency = string_at(value, path)
  if currency ~= BOOKING_CURRENCY then
    fail(path, ("%s: the clinic books in %s only; a payment in another currency needs a manual booking by finance")
      :format(currency, BOOKING_CURRENCY))
  end
  return currency
end

local function _is_date(text)
  local y, m, d = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return false end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 then return false end
  local days = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  if m == 2 and (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) then return d <= 29 end
  return d <= days[m]
end

local function date_at(value, path)
  local date = string_at(value, path)
  if not _is_date(date) then fail(path, ("%q is not a date (YYYY-MM-DD)"):format(date)) end
  return date
end

local function invoice(service_id)
  return { xmlid = "conflux.service_" .. service_id }
end

local function _payment_received(event)
  local payment = object_at(event.payment, "$.payment")
  local id = id_at(payment.id, "$.payment.id")
  local cents = cents_at(payment.amount_cents, "$.payment.amount_cents")
  usd_at(payment.currency, "$.payment.currency")
  local service_id = id_at(payment.service_id, "$.payment.service_id")
  local date = date_at(payment.date, "$.payment.date")
  local amount = cents / 100
  local ledger = { payment = id, service_id = service_id, amount = amount, currency = BOOKING_CURRENCY }
  if payment.charge ~= nil and payment.charge ~= json.null then ledger.charge = id_at(payment.charge, "$.payment.charge") end
  return {
    op = "register_payment",
    key = "conflux.payment_" .. id,
    invoice = invoice(service_id),
    amount = amount,
    date = date,
    memo = id,
    journal = BANK_JOURNAL,
    ledger = ledger,
  }
end

-- A refund event carries the charge's refunded total (a second partial refund is a larger total): the connector books
-- what Odoo does not hold yet under the charge's memo, keyed by the total, so a redelivered or an older total books
-- nothing twice.
local function _payment_refunded(event)
  local refund = object_at(event.refund, "$.refund")
  local charge = id_at(refund.charge, "$.refund.charge")
  local payment_intent = id_at(refund.payment_intent, "$.refund.payment_intent")
  local cents = cents_at(refund.refunded_total_cents, "$.refund.refunded_total_cents")
  usd_at(refund.currency, "$.refund.currency")
  local service_id = id_at(refund.service_id, "$.refund.service_id")
  local date = date_at(refund.date, "$.refund.date")
  local total = cents / 100
  return {
    op = "refund",
    key = ("conflux.refund_%s_%d"):format(charge, cents),
    invoice = invoice(service_id),
    refunded_total = total,
    date = date,
    memo = "refund " .. charge,
    -- The connector files the part it booked as the ledger's amount.
    ledger = { refund = charge, payment = payment_intent, service_id = service_id, amount = total, currency = BOOKING_CURRENCY },
  }
end

local mappers = {
  ["payment.received"] = _payment_received,
  ["payment.refunded"] = _payment_refunded,
}

function M.map(event, ctx)
  object_at(event, "$")
  local kind = string_at(event.type, "$.type")
  local mapper = mappers[kind]
  if mapper == nil then
    fail("$.type", ("payment-odoo maps payment.received and payment.refunded, not %s"):format(kind))
  end
  return mapper(event)
end

return M
