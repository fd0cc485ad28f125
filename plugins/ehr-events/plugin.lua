-- ehr-events: a source plugin. The clinics' scheduling/EHR systems post what happened; decode turns each payload
-- into canonical events, each with an idempotency_key so a redelivered payload is recognised downstream.
--
-- Two payload shapes:
--
-- * Plain JSON from the scheduling SaaS, {"type":"service.completed", "id", "service", "patient", "payer"?, "lines",
--   "currency"}. It is checked field by field and copied into the canonical shape (unknown fields are dropped, so a
--   birth date or a note the SaaS adds never travels further).
--
-- * FHIR R4 JSON (a "resourceType" is present):
--   - a Bundle holding one finished Encounter, its Patient, optionally the Coverage that pays, and the ChargeItems
--     whose context is the Encounter → one `service.completed` event (the Encounter's id is the service id);
--   - a lone Claim → `claim.submitted`;
--   - a lone ClaimResponse → `claim.adjudicated` (or no event while its outcome is still `queued`).
--
-- Canonical `service.completed`:
--   { type, id, idempotency_key = "service.completed:<service id>",
--     service = { id, site?, date = "YYYY-MM-DD", status },
--     patient = { mrn, given_name, family_name, email?, birth_date?, sex?, address? },
--     payer = { id, name, member_id }?,                 -- absent: self-pay
--     diagnoses = { "<ICD-10-CM code>", … }?,          -- principal first
--     lines = { { code, quantity, unit_price }, … }, currency }
--
-- What only a claim needs (the 837P's HI diagnoses and the subscriber's N3/N4/DMG) travels only when there is a payer:
-- a self-pay service is never claimed, so its patient's birth date, sex and address stay behind. Then:
--   patient.birth_date "YYYY-MM-DD", patient.sex "F" | "M" | "U", patient.address { line, city, state, postal_code };
--   from FHIR: Patient.birthDate (a full date only), Patient.gender, the home (or first current) Patient.address,
--   and the diagnoses from Encounter.diagnosis → Condition.code's ICD-10-CM coding in rank order, or when the
--   Encounter lists none, the ICD-10-CM codings of Encounter.reasonCode.
--
-- Every refusal is an error naming the JSON path of what was wrong in the payload ($.entry[3].resource.status);
-- array indexes count from 1, like the host's own JSON errors.
local json = require("json")

local M = { kind = "source" }

M.CPT_SYSTEMS = { ["http://www.ama-assn.org/go/cpt"] = true, ["urn:oid:2.16.840.1.113883.6.12"] = true }
M.HCPCS_SYSTEMS = {
  ["http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"] = true,
  ["https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"] = true,
  ["urn:oid:2.16.840.1.113883.6.285"] = true,
  ["urn:oid:2.16.840.1.113883.6.14"] = true,
}
local V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

-- Checking ----------------------------------------------------------------------------------------------------------

local function fail(message) error(message, 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

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

local function absent(value) return value == nil or value == json.null end

local function object_at(value, path)
  if not is_object(value) then fail(("%s: expected an object, got %s"):format(path, describe_value(value))) end
  return value
end

local function array_at(value, path)
  if not is_array(value) or #value == 0 then
    local got = describe_value(value)
    if type(value) == "table" and value ~= json.null and next(value) == nil then got = "an empty array" end
    fail(("%s: expected a non-empty array, got %s"):format(path, got))
  end
  return value
end

local function string_at(value, path)
  if type(value) ~= "string" or value == "" then
    fail(("%s: expected a non-empty string, got %s"):format(path, describe_value(value)))
  end
  return value
end

local function optional_string_at(value, path)
  if absent(value) then return nil end
  return string_at(value, path)
end

local function number_at(value, path)
  if type(value) ~= "number" then fail(("%s: expected a number, got %s"):format(path, describe_value(value))) end
  return value
end

local function positive_at(value, path)
  number_at(value, path)
  if value <= 0 then fail(("%s: %s must be greater than zero"):format(path, tostring(value))) end
  return value
end

local days_in_month = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
local function valid_date(y, m, d)
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if not (y and m and d and m >= 1 and m <= 12) then return false end
  local leap = y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
  return d >= 1 and d <= (m == 2 and leap and 29 or days_in_month[m])
end

-- A date YYYY-MM-DD; with `allow_time`, a FHIR dateTime whose date part (as written, in its own offset) is taken.
local function date_at(value, path, allow_time)
  string_at(value, path)
  local y, m, d, rest = value:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  local ok = y and valid_date(y, m, d) and (rest == "" or (allow_time and rest:match("^T%d%d:%d%d")))
  if not ok then
    fail(("%s: %q is not a %s"):format(path, value, allow_time and "full date or dateTime (YYYY-MM-DD…)" or "calendar date YYYY-MM-DD"))
  end
  return ("%s-%s-%s"):format(y, m, d)
end

local function currency_at(value, path)
  string_at(value, path)
  if not value:match("^%u%u%u$") then fail(("%s: %q is not an ISO 4217 currency code like USD"):format(path, value)) end
  return value
end

local ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"

local function icd10_at(value, path)
  string_at(value, path)
  if not value:match("^%u%d%w%.?%w*$") or #value:gsub("%.", "") > 7 then
    fail(("%s: %q is not an ICD-10-CM code like E11.9"):format(path, value))
  end
  return value
end

-- The same code twice is one diagnosis: the first place it appears (its rank) is kept.
local function distinct(codes)
  local seen, out = {}, {}
  for _, code in ipairs(codes) do
    if not seen[code] then seen[code] = true; out[#out + 1] = code end
  end
  return #out > 0 and out or nil
end

local function cents(amount) return math.floor(amount * 100 + 0.5) end
local function whole_cents_at(amount, path)
  local c = cents(amount)
  if math.abs(amount * 100 - c) > 1e-6 then fail(("%s: %s is not a whole number of cents"):format(path, tostring(amount))) end
  return c
end

-- Plain JSON ---------------------------------------------------------------------------------------------------------

local function plain_line(line, path)
  object_at(line, path)
  return {
    code = string_at(line.code, path .. ".code"),
    quantity = number_at(line.quantity, path .. ".quantity"),
    unit_price = number_at(line.unit_price, path .. ".unit_price"),
  }
end

local PLAIN_SEXES = { F = true, M = true, U = true }

-- The claim's part of a plain event (see the top of the file): checked here, so a bad value is refused where it came in.
local function plain_claim_data(doc, patient, event)
  if not absent(doc.diagnoses) then
    local codes = {}
    for i, code in ipairs(array_at(doc.diagnoses, "$.diagnoses")) do codes[i] = icd10_at(code, ("$.diagnoses[%d]"):format(i)) end
    event.diagnoses = distinct(codes)
  end
  if not absent(patient.birth_date) then
    event.patient.birth_date = date_at(patient.birth_date, "$.patient.birth_date", false)
  end
  if not absent(patient.sex) then
    local sex = string_at(patient.sex, "$.patient.sex")
    if not PLAIN_SEXES[sex] then fail(("$.patient.sex: %q is not F, M or U"):format(sex)) end
    event.patient.sex = sex
  end
  if not absent(patient.address) then
    local address = object_at(patient.address, "$.patient.address")
    event.patient.address = {
      line = string_at(address.line, "$.patient.address.line"),
      city = string_at(address.city, "$.patient.address.city"),
      state = string_at(address.state, "$.patient.address.state"),
      postal_code = string_at(address.postal_code, "$.patient.address.postal_code"),
    }
  end
end

function M._plain(doc)
  local kind = doc.type
  if kind ~= "service.completed" then
    fail(("$.type: unsupported event type %s (expected service.completed, or a FHIR resource with resourceType)"):format(
      describe_value(kind)))
  end
  local id = string_at(doc.id, "$.id")
  local service = object_at(doc.service, "$.service")
  local patient = object_at(doc.patient, "$.patient")
  local event = {
    type = "service.completed",
    id = id,
    service = {
      id = string_at(service.id, "$.service.id"),
      site = optional_string_at(service.site, "$.service.site"),
      date = date_at(service.date, "$.service.date", false),
      status = string_at(service.status, "$.service.status"),
    },
    patient = {
      mrn = string_at(patient.mrn, "$.patient.mrn"),
      given_name = string_at(patient.given_name, "$.patient.given_name"),
      family_name = string_at(patient.family_name, "$.patient.family_name"),
      email = optional_string_at(patient.email, "$.patient.email"),
    },
    lines = {},
    currency = currency_at(doc.currency, "$.currency"),
  }
  if not absent(doc.payer) then
    local payer = object_at(doc.payer, "$.payer")
    event.payer = {
      id = string_at(payer.id, "$.payer.id"),
      name = string_at(payer.name, "$.payer.name"),
      member_id = string_at(payer.member_id, "$.payer.member_id"),
    }
  end
  for i, line in ipairs(array_at(doc.lines, "$.lines")) do
    event.lines[i] = plain_line(line, ("$.lines[%d]"):format(i))
  end
  if event.payer then plain_claim_data(doc, patient, event) end
  event.idempotency_key = "service.completed:" .. event.service.id
  return event
end


-- FHIR helpers -------------------------------------------------------------------------------------------------------

-- "Patient/p1", "https://ehr.example/fhir/Patient/p1/_history/3" → "Patient", "p1"
local function reference_parts(reference)
  local plain = reference:gsub("/_history/[^/]+$", "")
  local kind, id = plain:match("(%u%a+)/([%w%-%.]+)$")
  return kind, id
end

-- The Bundle entry a reference points at: by fullUrl, else by type and id (the first entry wins either way).
local function resolve(records, reference)
  if not records.by_url then
    records.by_url, records.by_id = {}, {}
    for _, record in ipairs(records) do
      if record.full_url and not records.by_url[record.full_url] then records.by_url[record.full_url] = record end
      local id = record.resource.id
      if type(id) == "string" then
        local key = record.type .. "/" .. id
        records.by_id[key] = records.by_id[key] or record
      end
    end
  end
  local found = records.by_url[reference]
  if found then return found end
  local kind, id = reference_parts(reference)
  return kind and records.by_id[kind .. "/" .. id] or nil
end

local function has_coding(concept, code, system)
  if not is_object(concept) or not is_array(concept.coding) then return false end
  for _, coding in ipairs(concept.coding) do
    if is_object(coding) and coding.code == code and (absent(coding.system) or coding.system == system) then return true end
  end
  return false
end

-- The code of a CodeableConcept's first coding whose system is one of `systems` (any system when nil).
local function coding_code(concept, systems)
  if not is_object(concept) or not is_array(concept.coding) then return nil end
  for _, coding in ipairs(concept.coding) do
    if is_object(coding) and type(coding.code) == "string" and (systems == nil or systems[coding.system]) then
      return coding.code
    end
  end
  return nil
end

-- The first identifier's value of an Identifier array, or nil when there is none.
local function first_identifier(identifiers, path)
  if absent(identifiers) then return nil end
  array_at(identifiers, path)
  local first = object_at(identifiers[1], path .. "[1]")
  return string_at(first.value, path .. "[1].value")
end

-- A Reference names a party by identifier, by reference or both; returns (identifier value, resolved record, id).
local function reference_target(ref, path, records)
  object_at(ref, path)
  local by_identifier
  if not absent(ref.identifier) then
    by_identifier = string_at(object_at(ref.identifier, path .. ".identifier").value, path .. ".identifier.value")
  end
  local record, id
  if not absent(ref.reference) then
    local reference = string_at(ref.reference, path .. ".reference")
    record = records and resolve(records, reference)
    local _, tail = reference_parts(reference)
    id = record and type(record.resource.id) == "string" and record.resource.id or tail
  end
  return by_identifier, record, id
end

local function amount_of(money, path)
  object_at(money, path)
  return number_at(money.value, path .. ".value"), optional_string_at(money.currency, path .. ".currency")
end

-- Bundle → service.completed -----------------------------------------------------------------------------------------

local function bundle_records(doc)
  local records = {}
  for i, entry in ipairs(array_at(doc.entry, "$.entry")) do
    local path = ("$.entry[%d]"):format(i)
    object_at(entry, path)
    local resource = object_at(entry.resource, path .. ".resource")
    records[i] = {
      type = string_at(resource.resourceType, path .. ".resource.resourceType"),
      resource = resource,
      path = path .. ".resource",
      full_url = optional_string_at(entry.fullUrl, path .. ".fullUrl"),
    }
  end
  return records
end

local function of_type(records, kind)
  local found = {}
  for _, record in ipairs(records) do
    if record.type == kind then found[#found + 1] = record end
  end
  return found
end

local function paths(records)
  local list = {}
  for i, record in ipairs(records) do list[i] = record.path end
  return table.concat(list, ", ")
end

local function site_of(encounter, path, records)
  local ref, ref_path
  if not absent(encounter.serviceProvider) then
    ref, ref_path = encounter.serviceProvider, path .. ".serviceProvider"
  elseif not absent(encounter.location) then
    local first = object_at(array_at(encounter.location, path .. ".location")[1], path .. ".location[1]")
    ref, ref_path = first.location, path .. ".location[1].location"
  else
    return nil
  end
  local identifier, _, id = reference_target(ref, ref_path, records)
  local site = identifier or id
  if not site then fail(("%s: expected a reference or an identifier naming the site"):format(ref_path)) end
  return site
end

local function patient_of(record)
  local resource, path = record.resource, record.path
  local mrn
  for i, identifier in ipairs(array_at(resource.identifier, path .. ".identifier")) do
    local at = ("%s.identifier[%d]"):format(path, i)
    object_at(identifier, at)
    if has_coding(identifier.type, "MR", V2_0203) then
      mrn = string_at(identifier.value, at .. ".value")
      break
    end
  end
  if not mrn then fail(("%s.identifier: no identifier of type MR (the medical record number)"):format(path)) end
  local name = object_at(array_at(resource.name, path .. ".name")[1], path .. ".name[1]")
  local given = {}
  for i, part in ipairs(array_at(name.given, path .. ".name[1].given")) do
    given[i] = string_at(part, ("%s.name[1].given[%d]"):format(path, i))
  end
  local email
  if not absent(resource.telecom) then
    for i, telecom in ipairs(array_at(resource.telecom, path .. ".telecom")) do
      local at = ("%s.telecom[%d]"):format(path, i)
      if object_at(telecom, at).system == "email" then
        email = string_at(telecom.value, at .. ".value")
        break
      end
    end
  end
  return {
    mrn = mrn,
    given_name = table.concat(given, " "),
    family_name = string_at(name.family, path .. ".name[1].family"),
    email = email,
  }
end

local SEX_OF_GENDER = { male = "M", female = "F", other = "U", unknown = "U" }

-- The address a claim is sent with: the first home address, else the first that is not old or billing-only; as
-- { line, city, state, postal_code }, or nil when none has all four (the 837P then leaves N3/N4 out).
local function claim_address(resource, path)
  if absent(resource.address) then return nil end
  local addresses = array_at(resource.address, path .. ".address")
  local chosen
  for i, address in ipairs(addresses) do
    object_at(address, ("%s.address[%d]"):format(path, i))
    if address.use == "home" then chosen = address break end
    if not chosen and address.use ~= "old" and address.use ~= "billing" then chosen = address end
  end
  if not chosen or not is_array(chosen.line) then return nil end
  local lines = {}
  for _, line in ipairs(chosen.line) do
    if type(line) == "string" and line ~= "" then lines[#lines + 1] = line end
  end
  for _, name in ipairs({ "city", "state", "postalCode" }) do
    if type(chosen[name]) ~= "string" or chosen[name] == "" then return nil end
  end
  if #lines == 0 then return nil end
  return { line = table.concat(lines, " "), city = chosen.city, state = chosen.state, postal_code = chosen.postalCode }
end

-- The claim's part of the Patient (see the top of the file). A partial birthDate ("1971", "1971-08") is left out: a
-- claim's DMG needs the full date.
local function add_claim_demographics(patient, record)
  local resource, path = record.resource, record.path
  if type(resource.birthDate) == "string" and resource.birthDate:match("^%d%d%d%d%-%d%d%-%d%d$") then
    patient.birth_date = date_at(resource.birthDate, path .. ".birthDate", false)
  end
  if not absent(resource.gender) then
    local gender = string_at(resource.gender, path .. ".gender")
    patient.sex = SEX_OF_GENDER[gender]
    if not patient.sex then fail(("%s.gender: %q is not a FHIR administrative gender"):format(path, gender)) end
  end
  patient.address = claim_address(resource, path)
end

-- The Encounter's diagnoses as ICD-10-CM codes, principal first (see the top of the file); nil when it has none.
local function encounter_diagnoses(encounter, path, records)
  local codes = {}
  if not absent(encounter.diagnosis) then
    local ranked = {}
    for i, diagnosis in ipairs(array_at(encounter.diagnosis, path .. ".diagnosis")) do
      local at = ("%s.diagnosis[%d]"):format(path, i)
      object_at(diagnosis, at)
      local reference = string_at(object_at(diagnosis.condition, at .. ".condition").reference, at .. ".condition.reference")
      local record = resolve(records, reference)
      if not record or record.type ~= "Condition" then
        fail(("%s.condition.reference: %q is not a Condition in the Bundle"):format(at, reference))
      end
      local code = coding_code(record.resource.code, { [ICD10CM] = true })
      if not code then
        fail(("%s.code: no ICD-10-CM coding (system %s); a claim carries ICD-10-CM diagnoses"):format(record.path, ICD10CM))
      end
      local rank = diagnosis.rank
      if not absent(rank) and (math.type(rank) ~= "integer" or rank < 1) then
        fail(("%s.rank: expected a positive integer, got %s"):format(at, describe_value(rank)))
      end
      ranked[#ranked + 1] = { code = icd10_at(code, record.path .. ".code"), rank = absent(rank) and math.maxinteger or rank, order = i }
    end
    table.sort(ranked, function(a, b)
      if a.rank ~= b.rank then return a.rank < b.rank end
      return a.order < b.order
    end)
    for i, entry in ipairs(ranked) do codes[i] = entry.code end
  elseif not absent(encounter.reasonCode) then
    for i, concept in ipairs(array_at(encounter.reasonCode, path .. ".reasonCode")) do
      local code = coding_code(concept, { [ICD10CM] = true })
      if code then codes[#codes + 1] = icd10_at(code, ("%s.reasonCode[%d]"):format(path, i)) end
    end
  end
  return distinct(codes)
end

local function coverage_of(records, patient_record)
  local active = {}
  for _, record in ipairs(of_type(records, "Coverage")) do
    local status = optional_string_at(record.resource.status, record.path .. ".status")
    if status == nil or status == "active" then active[#active + 1] = record end
  end
  if #active == 0 then return nil end
  local order = {}
  for _, record in ipairs(active) do
    local value = record.resource.order
    order[record] = absent(value) and math.huge or number_at(value, record.path .. ".order")
  end
  table.sort(active, function(a, b) return order[a] < order[b] end)
  if #active > 1 and order[active[1]] == order[active[2]] then
    fail(("$.entry: %d active Coverages without distinct order (%s); which one pays is ambiguous"):format(#active, paths(active)))
  end
  local record = active[1]
  local coverage, path = record.resource, record.path
  if not absent(coverage.beneficiary) then
    local _, beneficiary = reference_target(coverage.beneficiary, path .. ".beneficiary", records)
    if beneficiary and beneficiary ~= patient_record then
      fail(("%s.beneficiary: the Coverage is for %s, not the Encounter's patient"):format(path, beneficiary.path))
    end
  end
  local payor_path = path .. ".payor[1]"
  local identifier, organization, id = reference_target(array_at(coverage.payor, path .. ".payor")[1], payor_path, records)
  local payor = coverage.payor[1]
  local name = optional_string_at(payor.display, payor_path .. ".display")
  if organization then
    name = name or optional_string_at(organization.resource.name, organization.path .. ".name")
    identifier = identifier or first_identifier(organization.resource.identifier, organization.path .. ".identifier")
  end
  if not name then fail(("%s: the payer has no display and no Organization with a name in the Bundle"):format(payor_path)) end
  local payer_id = identifier or id
  if not payer_id then fail(("%s: expected an identifier or a reference naming the payer"):format(payor_path)) end
  local member_id = optional_string_at(coverage.subscriberId, path .. ".subscriberId")
  if not member_id and not absent(coverage.identifier) then
    for i, ident in ipairs(array_at(coverage.identifier, path .. ".identifier")) do
      local at = ("%s.identifier[%d]"):format(path, i)
      if has_coding(object_at(ident, at).type, "MB", V2_0203) then member_id = string_at(ident.value, at .. ".value") end
    end
  end
  if not member_id then fail(("%s.subscriberId: missing, and no identifier of type MB (the member id)"):format(path)) end
  return { id = payer_id, name = name, member_id = member_id }
end

local function charge_line(record, quantity_path)
  local item, path = record.resource, record.path
  local code = coding_code(item.code, M.CPT_SYSTEMS) or coding_code(item.code, M.HCPCS_SYSTEMS)
  if not code then
    object_at(item.code, path .. ".code")
    fail(("%s.code.coding: no CPT or HCPCS coding (system http://www.ama-assn.org/go/cpt or "
      .. "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets)"):format(path))
  end
  local quantity = 1
  if not absent(item.quantity) then
    quantity = positive_at(object_at(item.quantity, quantity_path).value, quantity_path .. ".value")
  end
  local unit_cents, currency
  if not absent(item.priceOverride) then
    -- R4: priceOverride is the total price of the charge; the unit price is that over the quantity.
    local total, cur = amount_of(item.priceOverride, path .. ".priceOverride")
    local total_cents = whole_cents_at(positive_at(total, path .. ".priceOverride.value"), path .. ".priceOverride.value")
    unit_cents = total_cents / quantity
    if unit_cents ~= math.floor(unit_cents) then
      fail(("%s.priceOverride.value: the total %s does not divide into whole cents over quantity %s"):format(
        path, tostring(total), tostring(quantity)))
    end
    currency = cur
    if not currency then fail(("%s.priceOverride.currency: missing"):format(path)) end
  elseif not absent(item.unitPriceComponent) then
    -- R5's unit price: one MonetaryComponent; only a `base` amount is taken (discounts belong in priceOverride).
    local component = object_at(item.unitPriceComponent, path .. ".unitPriceComponent")
    if component.type ~= "base" then
      fail(("%s.unitPriceComponent.type: expected \"base\", got %s"):format(path, describe_value(component.type)))
    end
    local amount, cur = amount_of(component.amount, path .. ".unitPriceComponent.amount")
    unit_cents = whole_cents_at(positive_at(amount, path .. ".unitPriceComponent.amount.value"),
      path .. ".unitPriceComponent.amount.value")
    currency = cur
    if not currency then fail(("%s.unitPriceComponent.amount.currency: missing"):format(path)) end
  else
    fail(("%s: no priceOverride or unitPriceComponent; the charge has no price"):format(path))
  end
  return { code = code, quantity = quantity, unit_price = math.floor(unit_cents) / 100 }, currency
end

local BILLED = { billable = true, billed = true }
local NOT_BILLED = { ["not-billable"] = true, aborted = true, ["entered-in-error"] = true }

function M._bundle(doc)
  local records = bundle_records(doc)
  local encounters = of_type(records, "Encounter")
  if #encounters ~= 1 then
    fail(("$.entry: expected exactly one Encounter, found %d%s"):format(#encounters,
      #encounters > 0 and " (" .. paths(encounters) .. ")" or ""))
  end
  local encounter_record = encounters[1]
  local encounter, path = encounter_record.resource, encounter_record.path
  local status = string_at(encounter.status, path .. ".status")
  if status ~= "finished" then
    fail(("%s.status: the Encounter is %q, not finished; only a finished encounter is billed"):format(path, status))
  end
  local service_id = string_at(encounter.id, path .. ".id")
  local period = object_at(encounter.period, path .. ".period")
  local date = date_at(period.start, path .. ".period.start", true)

  local patient_record
  if not absent(encounter.subject) then
    local reference = string_at(object_at(encounter.subject, path .. ".subject").reference, path .. ".subject.reference")
    patient_record = resolve(records, reference)
    if not patient_record or patient_record.type ~= "Patient" then
      fail(("%s.subject.reference: %q is not a Patient in the Bundle"):format(path, reference))
    end
  else
    local patients = of_type(records, "Patient")
    if #patients ~= 1 then
      fail(("%s.subject: missing, and the Bundle has %d Patients, not one"):format(path, #patients))
    end
    patient_record = patients[1]
  end

  local lines, currency, currency_path = {}, nil, nil
  for _, record in ipairs(of_type(records, "ChargeItem")) do
    local item, item_path = record.resource, record.path
    local context = object_at(item.context, item_path .. ".context")
    local reference = string_at(context.reference, item_path .. ".context.reference")
    if resolve(records, reference) ~= encounter_record then
      fail(("%s.context.reference: %q is not the Bundle's Encounter (Encounter/%s)"):format(item_path, reference, service_id))
    end
    local item_status = string_at(item.status, item_path .. ".status")
    if BILLED[item_status] then
      local line, line_currency = charge_line(record, item_path .. ".quantity")
      if currency and line_currency ~= currency then
        fail(("%s: currency %s differs from %s at %s"):format(item_path, line_currency, currency, currency_path))
      end
      currency, currency_path = line_currency, item_path
      lines[#lines + 1] = line
    elseif not NOT_BILLED[item_status] then
      fail(("%s.status: the ChargeItem is %q; a finished encounter bills billable or billed items "
        .. "(not-billable, aborted and entered-in-error ones are left out)"):format(item_path, item_status))
    end
  end
  if #lines == 0 then fail(("$.entry: no billable ChargeItem for Encounter/%s"):format(service_id)) end

  local identifier = not absent(doc.identifier) and object_at(doc.identifier, "$.identifier").value or nil
  local event = {
    type = "service.completed",
    id = optional_string_at(identifier, "$.identifier.value") or optional_string_at(doc.id, "$.id") or ("Encounter/" .. service_id),
    idempotency_key = "service.completed:" .. service_id,
    service = { id = service_id, site = site_of(encounter, path, records), date = date, status = "completed" },
    patient = patient_of(patient_record),
    payer = coverage_of(records, patient_record),
    lines = lines,
    currency = currency,
  }
  if event.payer then
    add_claim_demographics(event.patient, patient_record)
    event.diagnoses = encounter_diagnoses(encounter, path, records)
  end
  return event
end

-- Claim → claim.submitted ---------------------------------------------------------------------------------------------

local function contained(resource, reference)
  if type(reference) ~= "string" or reference:sub(1, 1) ~= "#" or not is_array(resource.contained) then return nil end
  for i, item in ipairs(resource.contained) do
    if is_object(item) and item.id == reference:sub(2) then return item, ("$.contained[%d]"):format(i) end
  end
  return nil
end

-- A payer named by a Reference (insurer): { id = identifier or referenced id, name = display }.
local function payer_from(ref, path)
  local identifier, _, id = reference_target(ref, path, nil)
  local payer = { id = identifier or id, name = optional_string_at(ref.display, path .. ".display") }
  if not payer.id and not payer.name then fail(("%s: expected an identifier, a reference or a display naming the payer"):format(path)) end
  return payer
end

local function claim_payer(doc)
  if not absent(doc.insurer) then return payer_from(doc.insurer, "$.insurer") end
  if not absent(doc.insurance) then
    for i, insurance in ipairs(array_at(doc.insurance, "$.insurance")) do
      local at = ("$.insurance[%d]"):format(i)
      if object_at(insurance, at).focal == true then
        local coverage_ref = object_at(insurance.coverage, at .. ".coverage")
        local coverage, coverage_path = contained(doc, coverage_ref.reference)
        if not coverage then
          fail(("%s.coverage: the focal coverage is not a contained Coverage, and the Claim has no insurer"):format(at))
        end
        return payer_from(object_at(array_at(coverage.payor, coverage_path .. ".payor")[1], coverage_path .. ".payor[1]"),
          coverage_path .. ".payor[1]")
      end
    end
  end
  fail("$.insurer: missing, and no focal insurance names the payer")
end

local function encounter_id(ref, path)
  local identifier, _, id = reference_target(ref, path, nil)
  return identifier or id
end

function M._claim(doc)
  local status = string_at(doc.status, "$.status")
  if status ~= "active" then fail(("$.status: the Claim is %q, not active"):format(status)) end
  local use = optional_string_at(doc.use, "$.use")
  if use and use ~= "claim" then fail(("$.use: %q is not a claim (preauthorizations and predeterminations are not billed)"):format(use)) end
  local claim_id = first_identifier(doc.identifier, "$.identifier") or string_at(doc.id, "$.id")

  local service_id, service_path
  local net_cents, all_net = 0, true
  for i, item in ipairs(array_at(doc.item, "$.item")) do
    local at = ("$.item[%d]"):format(i)
    object_at(item, at)
    if not absent(item.encounter) then
      for j, ref in ipairs(array_at(item.encounter, at .. ".encounter")) do
        local ref_path = ("%s.encounter[%d]"):format(at, j)
        local id = encounter_id(ref, ref_path)
        if not id then fail(("%s: expected a reference or an identifier of the Encounter"):format(ref_path)) end
        if service_id and id ~= service_id then
          fail(("%s: Encounter %s, but %s names Encounter %s; one claim bills one service"):format(ref_path, id, service_path, service_id))
        end
        service_id, service_path = id, ref_path
      end
    end
    if absent(item.net) then
      all_net = false
    else
      net_cents = net_cents + whole_cents_at((amount_of(item.net, at .. ".net")), at .. ".net.value")
    end
  end

  local total, currency = amount_of(doc.total, "$.total")
  local total_cents = whole_cents_at(total, "$.total.value")
  if total_cents < 0 then fail(("$.total.value: %s must not be negative"):format(tostring(total))) end
  if all_net and net_cents ~= total_cents then
    fail(("$.total.value: %s, but the items' net amounts sum to %s"):format(tostring(total), tostring(net_cents / 100)))
  end
  local created = not absent(doc.created) and date_at(doc.created, "$.created", true) or nil
  return {
    type = "claim.submitted",
    id = optional_string_at(doc.id, "$.id") or claim_id,
    idempotency_key = "claim.submitted:" .. claim_id,
    claim = {
      id = claim_id,
      -- Without an encounter reference, the claim is keyed by its own identifier: the patient control number,
      -- which claim-837p sends as CLM01 = the service id.
      service_id = service_id or claim_id,
      payer = claim_payer(doc),
      total = total_cents / 100,
      currency = currency,
      created = created,
    },
  }
end

-- ClaimResponse → claim.adjudicated -----------------------------------------------------------------------------------

local OUTCOMES = { queued = true, complete = true, error = true, partial = true }
local PATIENT_SHARE = { copay = true, deductible = true }

-- Sums adjudication amounts (cents) by category code: the response's total[], else its items' adjudication[].
local function amounts_by_category(doc)
  local sums, found = {}, false
  local function add(entry, path)
    object_at(entry, path)
    local category = coding_code(entry.category, nil)
    if not category then fail(("%s.category: expected a coding with a code"):format(path)) end
    if not absent(entry.amount) then
      local value = amount_of(entry.amount, path .. ".amount")
      sums[category] = (sums[category] or 0) + whole_cents_at(value, path .. ".amount.value")
      found = true
    end
  end
  if not absent(doc.total) then
    for i, total in ipairs(array_at(doc.total, "$.total")) do add(total, ("$.total[%d]"):format(i)) end
  end
  if not found and not absent(doc.item) then
    for i, item in ipairs(array_at(doc.item, "$.item")) do
      local at = ("$.item[%d]"):format(i)
      for j, adjudication in ipairs(array_at(object_at(item, at).adjudication, at .. ".adjudication")) do
        add(adjudication, ("%s.adjudication[%d]"):format(at, j))
      end
    end
  end
  return sums
end

function M._claim_response(doc)
  local status = string_at(doc.status, "$.status")
  if status ~= "active" then fail(("$.status: the ClaimResponse is %q, not active"):format(status)) end
  local use = optional_string_at(doc.use, "$.use")
  if use and use ~= "claim" then fail(("$.use: %q is not an adjudication of a claim"):format(use)) end
  local outcome = string_at(doc.outcome, "$.outcome")
  if not OUTCOMES[outcome] then
    fail(("$.outcome: %q is not one of queued, complete, error, partial"):format(outcome))
  end
  local response_id = optional_string_at(doc.id, "$.id") or first_identifier(doc.identifier, "$.identifier")
  if not response_id then fail("$.id: missing, and no identifier; needed to tell one adjudication from another") end
  if outcome == "queued" then return nil end

  local request_identifier, _, request_id = reference_target(doc.request, "$.request", nil)
  local claim_id = request_identifier or request_id
  if not claim_id then fail("$.request: expected a reference or an identifier of the Claim") end

  local sums = amounts_by_category(doc)
  local paid_cents, payment = 0, nil
  if not absent(doc.payment) then
    local p = object_at(doc.payment, "$.payment")
    paid_cents = whole_cents_at((amount_of(p.amount, "$.payment.amount")), "$.payment.amount.value")
    if paid_cents < 0 then fail("$.payment.amount.value: must not be negative") end
    payment = { date = date_at(p.date, "$.payment.date", false) }
    if not absent(p.identifier) then
      payment.trace = string_at(object_at(p.identifier, "$.payment.identifier").value, "$.payment.identifier.value")
    elseif paid_cents > 0 then
      -- Money without its trace (EFT or check number) cannot be matched to the bank deposit or booked once.
      fail("$.payment.identifier: missing; a payment needs its trace number (EFT or check) to be booked")
    end
  end
  local patient_cents = 0
  for category in pairs(PATIENT_SHARE) do patient_cents = patient_cents + (sums[category] or 0) end
  local charged_cents = sums.submitted
  if not charged_cents and outcome ~= "error" then
    fail("$.total: no 'submitted' amount in total[] or in the items' adjudication[]; the charged amount is unknown")
  end

  -- denied: the payer could not adjudicate it (outcome error), or nothing is paid and nothing falls to the patient;
  -- paid: the payment covers the adjudicated benefit (or, without a benefit total, the claim completed with a payment);
  -- partial: everything else (outcome partial, less than the benefit, or only a patient share).
  local claim_status
  if outcome == "error" or (paid_cents == 0 and patient_cents == 0) then
    claim_status = "denied"
  elseif outcome == "partial" or paid_cents == 0 or (sums.benefit and paid_cents < sums.benefit) then
    claim_status = "partial"
  else
    claim_status = "paid"
  end

  return {
    type = "claim.adjudicated",
    id = response_id,
    idempotency_key = "claim.adjudicated:" .. claim_id .. ":" .. response_id,
    claim = {
      id = claim_id,
      -- The claim's identifier is its patient control number, which claim-837p sets to the service id.
      service_id = claim_id,
      status = claim_status,
      charged = charged_cents and charged_cents / 100 or nil,
      paid = paid_cents / 100,
      patient_responsibility = patient_cents / 100,
      payer = payer_from(doc.insurer, "$.insurer"),
      payment = payment,
      disposition = optional_string_at(doc.disposition, "$.disposition"),
    },
  }
end

-- The hook ------------------------------------------------------------------------------------------------------------

function M.decode(payload, ctx)
  if type(payload) ~= "string" then
    fail(("payload: expected the request body as a string, got %s"):format(describe_value(payload)))
  end
  local ok, doc = pcall(json.decode, payload)
  if not ok then fail(("$: the payload is not JSON: %s"):format(tostring(doc))) end
  if not is_object(doc) then fail(("$: expected a JSON object, got %s"):format(describe_value(doc))) end
  if absent(doc.resourceType) then return { M._plain(doc) } end
  local resource_type = string_at(doc.resourceType, "$.resourceType")
  if resource_type == "Bundle" then return { M._bundle(doc) } end
  if resource_type == "Claim" then return { M._claim(doc) } end
  if resource_type == "ClaimResponse" then
    local event = M._claim_response(doc)
    return event and { event } or json.array({})
  end
  fail(("$.resourceType: unsupported resource type %q (expected Bundle, Claim or ClaimResponse)"):format(resource_type))
end

return M
