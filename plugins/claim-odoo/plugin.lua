-- claim-odoo: a mapping plugin. A claim's progress with the payer becomes the receivable's status on the service's
-- Odoo invoice (external id `conflux.service_<service id>`), and the payer's money becomes a payment on it:
--
--   claim.submitted   → update the invoice: x_claim_status = submitted, x_claim_ref = the claim id
--   claim.adjudicated → update the invoice: x_claim_status (paid | partial | denied | reversed), x_payer_paid,
--                       x_patient_responsibility; then, when the payer paid something and the claim is not a
--                       reversal, register_payment of that amount (Odoo posts and reconciles it), keyed by the
--                       remittance's trace number and the claim so a redelivery registers nothing twice
--
-- Operations go to the `odoo` connector (plugins/odoo/README.md) as `{ operations = { … } }`, run in order.
--
-- Data minimisation: only financial fields leave for Odoo — status, amounts, the claim and trace references and the
-- payer's name. Service lines (procedure codes), adjustment reasons, dates of service, anything clinical stay here.
local json = require("json")

local M = { kind = "mapping" }

local STATUSES = { paid = true, partial = true, denied = true, reversed = true }
local BANK_JOURNAL = { lookup = { model = "account.journal", domain = { { "code", "=", "BNK1" } } } }
-- Ids that become parts of Odoo external ids must be plain tokens.
local ID_PATTERN = "^[%w][%w_.%-]*$"

local function fail(path, message)
  error(path .. ": " .. message, 0)
end

local function describe_type(value)
  if value == nil then return "nothing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("a string (%q)"):format(value) end
  if type(value) == "number" then return "a number (" .. tostring(value) .. ")" end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return "a " .. type(value)
end

local function absent(value) return value == nil or value == json.null end

local function object_at(value, path)
  if type(value) ~= "table" or json.is_array(value) then fail(path, "expected an object, found " .. describe_type(value)) end
  return value
end

local function string_at(value, path)
  if absent(value) then fail(path, "missing") end
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

-- A currency amount (a JSON number in dollars) as integer cents; fractions of a cent are refused, not rounded.
local function cents_at(value, path)
  if absent(value) then fail(path, "missing") end
  if type(value) ~= "number" then fail(path, "expected an amount (a number), found " .. describe_type(value)) end
  if value ~= value or value == math.huge or value == -math.huge or math.abs(value) >= 1e13 then
    fail(path, tostring(value) .. " is not an amount")
  end
  local scaled = value * 100
  local cents = math.floor(scaled + 0.5)
  if math.abs(scaled - cents) > 1e-6 then fail(path, tostring(value) .. " is not a whole number of cents") end
  return math.tointeger(cents)
end

local function _is_date(text)
  local y, m, d = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return false end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 then return false end
  local leap = y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
  local days = { 31, leap and 29 or 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  return d <= days[m]
end

local function date_at(value, path)
  local date = string_at(value, path)
  if not _is_date(date) then fail(path, ("%q is not a date (YYYY-MM-DD)"):format(date)) end
  return date
end

local function invoice_key(service_id) return "conflux.service_" .. service_id end

local function _submitted(event)
  local claim = object_at(event.claim, "$.claim")
  local claim_id = string_at(claim.id, "$.claim.id")
  local service_id = id_at(claim.service_id, "$.claim.service_id")
  return {
    operations = {
      {
        op = "update",
        model = "account.move",
        key = invoice_key(service_id),
        values = { x_claim_status = "submitted", x_claim_ref = claim_id },
        ledger = { claim = claim_id, service_id = service_id, status = "submitted" },
      },
    },
  }
end

local function _adjudicated(event)
  local claim = object_at(event.claim, "$.claim")
  local claim_id = string_at(claim.id, "$.claim.id")
  local service_id = id_at(claim.service_id, "$.claim.service_id")
  local status = string_at(claim.status, "$.claim.status")
  if not STATUSES[status] then fail("$.claim.status", ("%q is not paid, partial, denied or reversed"):format(status)) end
  local paid_cents = cents_at(claim.paid, "$.claim.paid")
  local patient_cents = absent(claim.patient_responsibility) and 0
    or cents_at(claim.patient_responsibility, "$.claim.patient_responsibility")
  local payer_name
  if not absent(claim.payer) then
    local payer = object_at(claim.payer, "$.claim.payer")
    if not absent(payer.name) then payer_name = string_at(payer.name, "$.claim.payer.name") end
  end

  local paid, patient = paid_cents / 100, patient_cents / 100
  local operations = {
    {
      op = "update",
      model = "account.move",
      key = invoice_key(service_id),
      values = { x_claim_status = status, x_payer_paid = paid, x_patient_responsibility = patient },
      ledger = { claim = claim_id, service_id = service_id, status = status, paid = paid, patient_responsibility = patient },
    },
  }

  if paid_cents > 0 and status ~= "reversed" then
    if absent(claim.payment) then fail("$.claim.payment", "missing (the payer paid " .. ("%.2f"):format(paid) .. "; its date and trace are needed to book it)") end
    local payment = object_at(claim.payment, "$.claim.payment")
    local trace = id_at(payment.trace, "$.claim.payment.trace")
    local date = date_at(payment.date, "$.claim.payment.date")
    id_at(claim_id, "$.claim.id")
    operations[2] = {
      op = "register_payment",
      key = "conflux.remit_" .. trace .. "_" .. claim_id,
      invoice = { xmlid = invoice_key(service_id) },
      amount = paid,
      date = date,
      memo = "835 " .. trace .. " " .. claim_id,
      journal = BANK_JOURNAL,
      ledger = { remittance = trace, claim = claim_id, service_id = service_id, amount = paid, payer = payer_name },
    }
  end
  return { operations = operations }
end

local mappers = {
  ["claim.submitted"] = _submitted,
  ["claim.adjudicated"] = _adjudicated,
}

function M.map(event, ctx)
  object_at(event, "$")
  local kind = string_at(event.type, "$.type")
  local mapper = mappers[kind]
  if mapper == nil then fail("$.type", ("claim-odoo maps claim.submitted and claim.adjudicated, not %s"):format(kind)) end
  return mapper(event)
end

return M
