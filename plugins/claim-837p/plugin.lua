-- claim-837p: a mapping plugin. A completed service with a payer (ehr-events' canonical `service.completed`) becomes
-- one X12 5010 837 Professional claim (implementation guide 005010X222A1) in its own interchange, for the
-- `clearinghouse` connector to send:
--
--   { interchange = "<ISA…IEA text>", claim_id = <service id>, payer = <payer id> }
--
-- A service without a payer is self-pay: there is nothing to claim, and the result is { skip = "self-pay: no claim" }
-- (the clearinghouse connector acknowledges a skip without sending anything).
--
-- The interchange is deterministic: a redelivered event produces the same bytes. Its control numbers come from the
-- service id (ISA13 = the first 60 bits of sha256(service id), mod 10^9, as 9 digits; GS06 the same number; ST02 0001),
-- and its dates are the service date (there is no clock in it), so a clearinghouse that deduplicates by sender and
-- ISA13 recognises a resend.
--
-- Layout (one claim, the patient is the subscriber):
--   ISA GS ST BHT, 1000A submitter NM1*41 PER, 1000B receiver NM1*40,
--   2000A HL*1 billing provider PRV, 2010AA NM1*85 N3 N4 REF*EI,
--   2000B HL*2 subscriber SBR (self), 2010BA NM1*IL [N3 N4 DMG], 2010BB payer NM1*PR,
--   2300 CLM HI, 2400 per line LX SV1*HC:code DTP*472, then SE GE IEA.
-- Separators: element '*', component ':', repetition '^', segment '~'. Values may not contain them.
--
-- The implementation guide requires a diagnosis (HI) and, when the patient is the subscriber, the subscriber's
-- address and demographics (N3 N4 DMG). ehr-events carries them on an event with a payer: `diagnoses` (ICD-10-CM
-- codes, principal first) are required here (an event without is refused, naming $.diagnoses); `patient.birth_date`,
-- `patient.sex` and `patient.address` ({line, city, state, postal_code}) are written when present.
--
-- Who sends and bills (submitter, receiver, billing provider, usage indicator) is data: values/submitter.json, each
-- section replaceable by the same key in the catalog entry's config: block (ctx.config).
local json = require("json")
local crypto = require("crypto")
local fixtures = require("fixtures")

local M = { kind = "mapping" }

M.SETTINGS = "values/submitter.json"
M.IMPLEMENTATION = "005010X222A1"
M.SELF_PAY = "self-pay: no claim"

local SEPARATORS = { element = "*", component = ":", repetition = "^", segment = "~" }

-- Checking ------------------------------------------------------------------------------------------------------------

local function fail(message) error(message, 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function absent(value) return value == nil or value == json.null end

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

-- An X12 data value: printable ASCII without the separators.
local function text_at(value, path)
  if type(value) ~= "string" or value == "" then
    fail(("%s: expected a non-empty string, got %s"):format(path, describe_value(value)))
  end
  for _, name in ipairs({ "element", "component", "repetition", "segment" }) do
    local separator = SEPARATORS[name]
    if value:find(separator, 1, true) then
      fail(("%s: %q contains '%s', the X12 %s separator"):format(path, value, separator, name))
    end
  end
  if value:find("[^\32-\126]") then
    fail(("%s: %q has a character outside the X12 character set (printable ASCII)"):format(path, value))
  end
  return value
end

local function pattern_at(value, path, pattern, expected)
  text_at(value, path)
  if not value:match(pattern) then fail(("%s: %q is not %s"):format(path, value, expected)) end
  return value
end

local days_in_month = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
local function date_at(value, path)
  text_at(value, path)
  local y, m, d = value:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  local leap = y and (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0))
  local last = m and m >= 1 and m <= 12 and (m == 2 and leap and 29 or days_in_month[m])
  if not (last and d >= 1 and d <= last) then fail(("%s: %q is not a calendar date YYYY-MM-DD"):format(path, value)) end
  return ("%04d%02d%02d"):format(y, m, d)
end

-- The NPI check digit: Luhn over "80840" followed by the first nine digits.
function M._npi_valid(npi)
  if type(npi) ~= "string" or not npi:match("^%d%d%d%d%d%d%d%d%d%d$") then return false end
  local digits = "80840" .. npi
  local sum = 0
  for i = #digits, 1, -1 do
    local d = tonumber(digits:sub(i, i))
    if (#digits - i) % 2 == 1 then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
  end
  return sum % 10 == 0
end

-- Amounts ---------------------------------------------------------------------------------------------------------------

local function cents(amount) return math.floor(amount * 100 + 0.5) end

-- X12 decimals carry no trailing zeros: 25000 cents → "250", 12550 → "125.5", 12505 → "125.05".
function M._amount(total_cents)
  local whole, fraction = total_cents // 100, total_cents % 100
  if fraction == 0 then return ("%d"):format(whole) end
  if fraction % 10 == 0 then return ("%d.%d"):format(whole, fraction // 10) end
  return ("%d.%02d"):format(whole, fraction)
end

function M._quantity(quantity)
  if quantity == math.floor(quantity) then return ("%d"):format(math.floor(quantity)) end
  local text = ("%.3f"):format(quantity):gsub("0+$", "")
  return text
end

-- Settings --------------------------------------------------------------------------------------------------------------

local SECTIONS = { "usage", "claim_filing", "place_of_service", "submitter", "receiver", "billing_provider" }

function M._settings(ctx)
  local ok, text = pcall(fixtures.read, M.SETTINGS)
  if not ok then fail(("%s: cannot read the submitter settings: %s"):format(M.SETTINGS, tostring(text))) end
  local decoded_ok, file = pcall(json.decode, text)
  if not decoded_ok then fail(("%s: not valid JSON: %s"):format(M.SETTINGS, tostring(file))) end
  object_at(file, M.SETTINGS)
  local config = type(ctx) == "table" and is_object(ctx.config) and ctx.config or {}
  local settings, where = {}, {}
  for _, section in ipairs(SECTIONS) do
    if not absent(config[section]) then
      settings[section], where[section] = config[section], "ctx.config." .. section
    else
      settings[section], where[section] = file[section], M.SETTINGS .. ": " .. section
    end
  end

  pattern_at(settings.usage, where.usage, "^[PT]$", "P (production) or T (test)")
  pattern_at(settings.claim_filing, where.claim_filing, "^%w%w?$", "a claim filing indicator code like CI")
  pattern_at(settings.place_of_service, where.place_of_service, "^%d%d$", "a two-digit place of service code like 11")
  local submitter = object_at(settings.submitter, where.submitter)
  pattern_at(submitter.id, where.submitter .. ".id", "^[%w%-]+$", "an interchange id (letters, digits, '-')")
  if #submitter.id > 15 then fail(("%s.id: %q is longer than 15 characters (ISA06)"):format(where.submitter, submitter.id)) end
  text_at(submitter.name, where.submitter .. ".name")
  text_at(submitter.contact, where.submitter .. ".contact")
  pattern_at(submitter.phone, where.submitter .. ".phone", "^%d%d%d%d%d%d%d%d%d%d$", "a 10-digit phone number")
  local receiver = object_at(settings.receiver, where.receiver)
  pattern_at(receiver.id, where.receiver .. ".id", "^[%w%-]+$", "an interchange id (letters, digits, '-')")
  if #receiver.id > 15 then fail(("%s.id: %q is longer than 15 characters (ISA08)"):format(where.receiver, receiver.id)) end
  text_at(receiver.name, where.receiver .. ".name")
  local provider = object_at(settings.billing_provider, where.billing_provider)
  local at = where.billing_provider
  text_at(provider.name, at .. ".name")
  pattern_at(provider.npi, at .. ".npi", "^%d%d%d%d%d%d%d%d%d%d$", "a 10-digit NPI")
  if not M._npi_valid(provider.npi) then fail(("%s.npi: %q fails the NPI check digit"):format(at, provider.npi)) end
  pattern_at(provider.tax_id, at .. ".tax_id", "^%d%d%d%d%d%d%d%d%d$", "a 9-digit employer identification number")
  pattern_at(provider.taxonomy, at .. ".taxonomy", "^%w%w%w%w%w%w%w%w%w%w$", "a 10-character provider taxonomy code")
  text_at(provider.address, at .. ".address")
  text_at(provider.city, at .. ".city")
  pattern_at(provider.state, at .. ".state", "^%u%u$", "a two-letter state code")
  pattern_at(provider.zip, at .. ".zip", "^%d%d%d%d%d%d%d%d%d$", "a 9-digit ZIP+4 (the billing provider's ZIP needs all nine)")
  return settings
end

-- The event -------------------------------------------------------------------------------------------------------------

local function lines_of(event)
  local lines = event.lines
  if not is_array(lines) or #lines == 0 then
    local got = describe_value(lines)
    if type(lines) == "table" and lines ~= json.null and next(lines) == nil then got = "an empty array" end
    fail(("$.lines: expected a non-empty array of service lines, got %s"):format(got))
  end
  local out, total = {}, 0
  for i, line in ipairs(lines) do
    local path = ("$.lines[%d]"):format(i)
    object_at(line, path)
    local code = pattern_at(line.code, path .. ".code", "^[%u%d][%u%d][%u%d][%u%d][%u%d]$", "a 5-character CPT/HCPCS code")
    local quantity, price = line.quantity, line.unit_price
    if type(quantity) ~= "number" or quantity <= 0 then
      fail(("line %d: quantity must be a number greater than zero, got %s (%s.quantity)"):format(i, describe_value(quantity), path))
    end
    if type(price) ~= "number" or price <= 0 then
      fail(("line %d: unit_price must be a number greater than zero, got %s (%s.unit_price)"):format(i, describe_value(price), path))
    end
    local unit = cents(price)
    if math.abs(price * 100 - unit) > 1e-6 then
      fail(("line %d: unit_price %s is not a whole number of cents (%s.unit_price)"):format(i, tostring(price), path))
    end
    local charge = math.floor(unit * quantity + 0.5)
    out[i] = { code = code, quantity = quantity, charge = charge }
    total = total + charge
  end
  return out, total
end

-- At least one: the implementation guide requires HI in loop 2300, and a claim without it comes back rejected (999)
-- days later from the clearinghouse; refused here, the event dead-letters at once saying what the EHR must send.
local function diagnoses_of(event)
  local list = event.diagnoses
  if absent(list) or (type(list) == "table" and next(list) == nil) then
    fail("$.diagnoses: a professional claim needs at least one ICD-10-CM diagnosis (HI in loop 2300, required by "
      .. M.IMPLEMENTATION .. "); the event has none")
  end
  if not is_array(list) then fail(("$.diagnoses: expected an array of ICD-10-CM codes, got %s"):format(describe_value(list))) end
  if #list > 12 then fail(("$.diagnoses: %d codes; a professional claim carries at most 12"):format(#list)) end
  local out = {}
  for i, code in ipairs(list) do
    -- Written without the decimal point, as X12 carries ICD-10-CM codes.
    local path = ("$.diagnoses[%d]"):format(i)
    out[i] = pattern_at(code, path, "^%u%d[%w]%.?[%w]*$", "an ICD-10-CM code like E11.9"):gsub("%.", "")
    if #out[i] > 7 then fail(("%s: %q is longer than an ICD-10-CM code"):format(path, code)) end
  end
  return out
end

local SEX = { F = true, M = true, U = true }

-- Segments --------------------------------------------------------------------------------------------------------------

-- One segment: elements joined by '*', trailing empty elements left out (X12 omits them).
local function segment(id, ...)
  local elements = { id, ... }
  local n = select("#", ...) + 1
  while n > 1 and (elements[n] == nil or elements[n] == "") do n = n - 1 end
  local parts = {}
  for i = 1, n do parts[i] = elements[i] or "" end
  return table.concat(parts, SEPARATORS.element)
end

local function pad(value, width) return value .. string.rep(" ", width - #value) end

-- A control number from the service id: the first 60 bits of its sha256, mod 10^9 (never 0).
function M._control_number(service_id)
  local n = tonumber(crypto.sha256(service_id):sub(1, 15), 16) % 1000000000
  return n == 0 and 1 or n
end

function M.map(event, ctx)
  object_at(event, "$")
  if event.type ~= "service.completed" then
    fail(("$.type: expected a service.completed event, got %s"):format(describe_value(event.type)))
  end
  if absent(event.payer) then return { skip = M.SELF_PAY } end

  local service = object_at(event.service, "$.service")
  local service_id = text_at(service.id, "$.service.id")
  if #service_id > 20 then
    fail(("$.service.id: %q is longer than the 20 characters of a patient control number (CLM01)"):format(service_id))
  end
  local date = date_at(service.date, "$.service.date")
  local patient = object_at(event.patient, "$.patient")
  local family = text_at(patient.family_name, "$.patient.family_name"):upper()
  local given = text_at(patient.given_name, "$.patient.given_name"):upper()
  local payer = object_at(event.payer, "$.payer")
  local payer_id = text_at(payer.id, "$.payer.id")
  local payer_name = text_at(payer.name, "$.payer.name"):upper()
  local member_id = text_at(payer.member_id, "$.payer.member_id")
  local lines, total = lines_of(event)
  local diagnoses = diagnoses_of(event)
  local settings = M._settings(ctx)
  local submitter, receiver, provider = settings.submitter, settings.receiver, settings.billing_provider

  local control = M._control_number(service_id)
  local isa13 = ("%09d"):format(control)
  local gs06 = ("%d"):format(control)
  local st02 = "0001"
  local time = "0000"

  local body = {}
  local function add(...) body[#body + 1] = segment(...) end
  add("ST", "837", st02, M.IMPLEMENTATION)
  add("BHT", "0019", "00", service_id, date, time, "CH")
  add("NM1", "41", "2", submitter.name:upper(), "", "", "", "", "46", submitter.id)
  add("PER", "IC", submitter.contact:upper(), "TE", submitter.phone)
  add("NM1", "40", "2", receiver.name:upper(), "", "", "", "", "46", receiver.id)
  add("HL", "1", "", "20", "1")
  add("PRV", "BI", "PXC", provider.taxonomy)
  add("NM1", "85", "2", provider.name:upper(), "", "", "", "", "XX", provider.npi)
  add("N3", provider.address:upper())
  add("N4", provider.city:upper(), provider.state, provider.zip)
  add("REF", "EI", provider.tax_id)
  add("HL", "2", "1", "22", "0")
  add("SBR", "P", "18", "", "", "", "", "", "", settings.claim_filing)
  add("NM1", "IL", "1", family, given, "", "", "", "MI", member_id)
  if not absent(patient.address) then
    local address = object_at(patient.address, "$.patient.address")
    add("N3", text_at(address.line, "$.patient.address.line"):upper())
    add("N4", text_at(address.city, "$.patient.address.city"):upper(),
      pattern_at(address.state, "$.patient.address.state", "^%u%u$", "a two-letter state code"),
      pattern_at(address.postal_code, "$.patient.address.postal_code", "^%d%d%d%d%d%d?%d?%d?%d?$", "a 5- or 9-digit ZIP code"))
  end
  if not absent(patient.birth_date) then
    local sex = absent(patient.sex) and "U" or text_at(patient.sex, "$.patient.sex")
    if not SEX[sex] then fail(("$.patient.sex: %q is not F, M or U"):format(sex)) end
    add("DMG", "D8", date_at(patient.birth_date, "$.patient.birth_date"), sex)
  end
  add("NM1", "PR", "2", payer_name, "", "", "", "", "PI", payer_id)
  add("CLM", service_id, M._amount(total), "", "",
    settings.place_of_service .. SEPARATORS.component .. "B" .. SEPARATORS.component .. "1", "Y", "A", "Y", "Y")
  local codes = {}
  for i, code in ipairs(diagnoses) do codes[i] = (i == 1 and "ABK" or "ABF") .. SEPARATORS.component .. code end
  add("HI", table.unpack(codes))
  for i, line in ipairs(lines) do
    add("LX", ("%d"):format(i))
    -- SV107 points the line at the principal diagnosis.
    add("SV1", "HC" .. SEPARATORS.component .. line.code, M._amount(line.charge), "UN", M._quantity(line.quantity), "", "", "1")
    add("DTP", "472", "D8", date)
  end
  add("SE", ("%d"):format(#body + 1), st02)

  local isa = segment("ISA", "00", pad("", 10), "00", pad("", 10), "ZZ", pad(submitter.id, 15), "ZZ", pad(receiver.id, 15),
    date:sub(3), time, SEPARATORS.repetition, "00501", isa13, "0", settings.usage, SEPARATORS.component)
  local gs = segment("GS", "HC", submitter.id, receiver.id, date, time, gs06, "X", M.IMPLEMENTATION)
  local segments = { isa, gs }
  for _, s in ipairs(body) do segments[#segments + 1] = s end
  segments[#segments + 1] = segment("GE", "1", gs06)
  segments[#segments + 1] = segment("IEA", "1", isa13)

  return {
    interchange = table.concat(segments, SEPARATORS.segment) .. SEPARATORS.segment,
    claim_id = service_id,
    payer = payer_id,
  }
end

return M
