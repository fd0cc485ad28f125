-- service-invoice: a mapping plugin. A completed service (ehr-events' canonical `service.completed` event) becomes the
-- two operations the `odoo` connector takes (plugins/odoo/README.md), run in order:
--
--   1. upsert the patient as a customer (res.partner), external id conflux.patient_<mrn>, matched by ref = mrn;
--   2. upsert the customer invoice (account.move, out_invoice), external id conflux.service_<service id>, matched by
--      ref = service id, its partner the record of step 1 ({xmlid = …}), one line per billed service code, posted
--      when the service is completed. A redelivered event finds both records by their external ids.
--
-- Data minimisation: the partner carries what finance needs to bill — name, MRN as the reference, e-mail when the
-- source has one — and nothing clinical: no birth date, no diagnoses, no notes, no payer or member id.
--
-- Service codes (CPT/HCPCS) become Odoo products through a value map kept as data next to this file,
-- values/service-codes.json: { "<code>": { "default_code": <product's Internal Reference>, "description": … } }.
-- The line's product is found in Odoo by that default code (a `lookup` marker), so product ids never live here.
--
-- Amounts: computed in cents (integers), divided by 100 once for Odoo. A price must be a whole number of cents.
-- Errors name the event field as a JSON path ($.lines[2].quantity; indexes count from 1, like the host's JSON errors).
local json = require("json")
local fixtures = require("fixtures")

local M = { kind = "mapping" }

M.VALUE_MAP = "values/service-codes.json"

local function fail(message) error(message, 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

-- Decoded JSON marks its arrays; a table built in Lua counts as an array when its keys are exactly 1..n.
local function is_array(value)
  if type(value) ~= "table" or value == json.null then return false end
  if json.is_array(value) then return true end
  local n = 0
  for _ in pairs(value) do n = n + 1 end
  return n > 0 and n == #value
end

local function is_object(value)
  return type(value) == "table" and value ~= json.null and not json.is_array(value) and (next(value) == nil or not is_array(value))
end

local function object_at(value, path)
  if not is_object(value) then fail(("%s: expected an object, got %s"):format(path, describe_value(value))) end
  return value
end

local function string_at(value, path)
  if type(value) ~= "string" or value == "" then
    fail(("%s: expected a non-empty string, got %s"):format(path, describe_value(value)))
  end
  return value
end

-- The MRN and the service id become external ids (conflux.patient_<mrn>); the odoo connector takes letters, digits,
-- '_', '.' and '-' in their names (and Odoo refuses white space in any).
local function key_part_at(value, path)
  string_at(value, path)
  if not value:match("^[%w_.%-]+$") then
    fail(("%s: %q has characters an Odoo external id cannot hold (letters, digits, _ . - only)"):format(path, value))
  end
  return value
end

local function optional_string_at(value, path)
  if value == nil or value == json.null then return nil end
  return string_at(value, path)
end

local days_in_month = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
local function date_at(value, path)
  string_at(value, path)
  local y, m, d = value:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  local leap = y and (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0))
  local last = m and m >= 1 and m <= 12 and (m == 2 and leap and 29 or days_in_month[m])
  if not (last and d >= 1 and d <= last) then
    fail(("%s: %q is not a calendar date YYYY-MM-DD"):format(path, value))
  end
  return value
end

local function cents(amount) return math.floor(amount * 100 + 0.5) end

-- Reads and checks a value map; fixtures.read reads a file of this plugin's own folder (README, Host modules), in
-- tests and in the pipeline alike.
function M._load_value_map(path)
  local ok, text = pcall(fixtures.read, path)
  if not ok then fail(("%s: cannot read the value map: %s"):format(path, tostring(text))) end
  local decoded_ok, map = pcall(json.decode, text)
  if not decoded_ok then fail(("%s: not valid JSON: %s"):format(path, tostring(map))) end
  if not is_object(map) then fail(("%s: expected an object of service code → product"):format(path)) end
  for code, entry in pairs(map) do
    local where = ("%s: $[%q]"):format(path, code)
    if not is_object(entry) then fail(where .. ": expected an object {default_code, description}") end
    string_at(entry.default_code, where .. ".default_code")
    string_at(entry.description, where .. ".description")
  end
  return map
end

-- The shipped value map, read once per state.
local value_map
function M._value_map()
  value_map = value_map or M._load_value_map(M.VALUE_MAP)
  return value_map
end

local function line_values(i, line, products)
  local path = ("$.lines[%d]"):format(i)
  object_at(line, path)
  local code = string_at(line.code, path .. ".code")
  local product = products[code]
  if product == nil then
    fail(("line %d: service code %s has no product in the value map (%s)"):format(i, code, M.VALUE_MAP))
  end
  local quantity, price = line.quantity, line.unit_price
  if type(quantity) ~= "number" then
    fail(("line %d: quantity must be a number, got %s (%s.quantity)"):format(i, describe_value(quantity), path))
  end
  if quantity <= 0 then
    fail(("line %d: quantity %s must be greater than zero (%s.quantity)"):format(i, tostring(quantity), path))
  end
  if type(price) ~= "number" then
    fail(("line %d: unit_price must be a number, got %s (%s.unit_price)"):format(i, describe_value(price), path))
  end
  if price <= 0 then
    fail(("line %d: unit_price %s must be greater than zero (%s.unit_price)"):format(i, tostring(price), path))
  end
  local unit_cents = cents(price)
  if math.abs(price * 100 - unit_cents) > 1e-6 then
    fail(("line %d: unit_price %s is not a whole number of cents (%s.unit_price)"):format(i, tostring(price), path))
  end
  return {
    product_id = { lookup = { model = "product.product", domain = { { "default_code", "=", product.default_code } } } },
    name = code .. " " .. product.description,
    quantity = quantity,
    price_unit = unit_cents / 100,
  }, math.floor(unit_cents * quantity + 0.5)
end

function M.map(event, ctx)
  object_at(event, "$")
  if event.type ~= "service.completed" then
    fail(("$.type: expected a service.completed event, got %s"):format(describe_value(event.type)))
  end
  local service = object_at(event.service, "$.service")
  local service_id = key_part_at(service.id, "$.service.id")
  local invoice_date = date_at(service.date, "$.service.date")
  local status = string_at(service.status, "$.service.status")
  local site = optional_string_at(service.site, "$.service.site")
  local patient = object_at(event.patient, "$.patient")
  local mrn = key_part_at(patient.mrn, "$.patient.mrn")
  local given = string_at(patient.given_name, "$.patient.given_name")
  local family = string_at(patient.family_name, "$.patient.family_name")
  local email = optional_string_at(patient.email, "$.patient.email")
  local currency = string_at(event.currency, "$.currency")
  if not currency:match("^%u%u%u$") then fail(("$.currency: %q is not an ISO 4217 code like USD"):format(currency)) end

  local lines = event.lines
  if not is_array(lines) or #lines == 0 then
    local got = describe_value(lines)
    if type(lines) == "table" and lines ~= json.null then got = next(lines) == nil and "an empty list" or "an object" end
    fail(("$.lines: expected a non-empty array of service lines, got %s"):format(got))
  end
  local products = M._value_map()
  local invoice_lines, total_cents = {}, 0
  for i, line in ipairs(lines) do
    local values, line_cents = line_values(i, line, products)
    invoice_lines[i] = values
    total_cents = total_cents + line_cents
  end

  local partner_key = "conflux.patient_" .. mrn
  local partner_values = { name = given .. " " .. family, ref = mrn, customer_rank = 1 }
  if email then partner_values.email = email end

  return {
    operations = {
      {
        op = "upsert",
        model = "res.partner",
        key = partner_key,
        match = { { "ref", "=", mrn } },
        values = partner_values,
      },
      {
        op = "upsert",
        model = "account.move",
        key = "conflux.service_" .. service_id,
        match = { { "ref", "=", service_id }, { "move_type", "=", "out_invoice" } },
        values = {
          move_type = "out_invoice",
          partner_id = { xmlid = partner_key },
          currency_id = { lookup = { model = "res.currency", domain = { { "name", "=", currency } } } },
          invoice_date = invoice_date,
          ref = service_id,
          invoice_origin = site and ("Conflux " .. site) or "Conflux",
          invoice_line_ids = { lines = invoice_lines },
        },
        post = status == "completed",
        ledger = {
          service_id = service_id,
          amount_total = total_cents / 100,
          lines = #invoice_lines,
          partner = mrn,
        },
      },
    },
  }
end

return M
