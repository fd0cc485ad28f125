-- scheduling-fhir: a source plugin for FHIR R4 Appointment webhooks (POST /ingest/scheduling-fhir). Each Appointment
-- becomes one canonical appointment event — who, when, where, which billable service — and nothing clinical: reason,
-- description, comment, patient instructions, narrative and specialty stay behind.
--
-- Payloads: a bare Appointment, or a Bundle of type history, collection or subscription-notification whose entries
-- are Appointments (events come out oldest meta.lastUpdated first). Patient and Location entries are context that
-- references resolve to; a notification's SubscriptionStatus/Parameters entry and a history entry without a resource
-- (a DELETE) are skipped; any other resource type is refused.
--
-- Event type from Appointment.status:
--   proposed, pending, booked  → appointment.booked when meta.versionId is "1" or absent, else appointment.rescheduled
--   cancelled, entered-in-error → appointment.cancelled      noshow → appointment.no_show
--   fulfilled, checked-in, arrived → appointment.completed   waitlist → no event (not on anyone's calendar yet)
--
-- Canonical event:
--   { type, occurred_at = meta.lastUpdated (required: it orders the appointment's events),
--     idempotency_key = "fhir:Appointment/<id>/_history/<meta.versionId, else meta.lastUpdated>",
--     appointment = { id (Appointment.id, else identifier[1].value), placer_id? (identifier[1].value when id is the
--                     resource id), start?, stop? (start/end; required unless proposed, cancelled or entered-in-error),
--                     duration_minutes? (minutesDuration), status (the FHIR status), site?, service? },
--     patient = { mrn, family_name?, given_name?, contact = { phone?, email? }?, consent = { sms, email }? } }
--
-- The patient: the one participant whose actor is a Patient — `#id` in Appointment.contained, a Bundle entry (by
-- fullUrl or Patient/<id>), or a bare reference "Patient/123". mrn: the Patient's identifier of type MR, else the
-- actor's identifier, else the Patient's first identifier, else the reference's id ("123"). Names from the Patient's
-- official (else usual, else first) name, given names joined with a space; with no Patient resource, from the actor's
-- display ("Peter James Chalmers": given "Peter James", family "Chalmers"). Contact from Patient.telecom (by rank):
-- a phone (system phone/sms, a mobile first) in E.164 ("+1" for 10-digit US numbers; unusable numbers are dropped),
-- an e-mail. Consent: a Patient whose meta.security holds v3 Confidentiality R or V (restricted) gets
-- { sms = false, email = false }, like HL7's PD1-12 protection indicator; otherwise unknown (left out).
-- A group appointment with several patients is refused.
--
-- The site, a short lower-case name ("north"): the Appointment extension M.SITE_EXTENSION (valueCode/valueString),
-- else the first Location participant: its actor's identifier, else the Location resource's identifier in the
-- clinics' site system (M.SITE_SYSTEM), else its reference's id when that is a plain word ("Location/south" →
-- "south"), else the first word of its display or name ("North Clinic, exam room 3" → "north"), else its id.
--
-- The service: the first CPT or HCPCS coding in serviceType, appointmentType or serviceCategory (system "CPT" or
-- "HCPCS"), else serviceType's first coding (SNOMED CT as "SCT", other systems as given); its display as text.
--
-- Every refusal is a permanent error naming the JSON path ($.entry[3].resource.start); array indexes count from 1,
-- like the host's own JSON errors.
local json = require("json")
local conflux = require("conflux")
local log = require("log")
local datetime = require("lib.datetime")
local phone = require("lib.phone")

local M = { kind = "source" }

M.SITE_EXTENSION = "https://northside-clinics.example/fhir/StructureDefinition/appointment-site"
M.SITE_SYSTEM = "https://northside-clinics.example/sites"
M.BUNDLE_TYPES = { history = true, collection = true, ["subscription-notification"] = true }
M.EVENT_OF_STATUS = {
  proposed = "booked", pending = "booked", booked = "booked",
  cancelled = "appointment.cancelled", ["entered-in-error"] = "appointment.cancelled",
  noshow = "appointment.no_show",
  fulfilled = "appointment.completed", ["checked-in"] = "appointment.completed", arrived = "appointment.completed",
  waitlist = false,
}
-- Statuses for which FHIR (invariant app-3) lets start and end be missing.
local TIMES_OPTIONAL = { proposed = true, cancelled = true, ["entered-in-error"] = true, waitlist = true }
M.SERVICE_SYSTEMS = {
  ["http://www.ama-assn.org/go/cpt"] = "CPT", ["urn:oid:2.16.840.1.113883.6.12"] = "CPT",
  ["http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"] = "HCPCS",
  ["https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"] = "HCPCS", ["urn:oid:2.16.840.1.113883.6.285"] = "HCPCS",
}
local OTHER_SYSTEMS = { ["http://snomed.info/sct"] = "SCT" }
local V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
local CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
local SKIPPED_TYPES = { SubscriptionStatus = true, Parameters = true }

-- Checking ------------------------------------------------------------------------------------------------------------

local function fail(path, message) error(conflux.permanent(path .. ": " .. message), 0) end

local function absent(value) return value == nil or value == json.null end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function is_object(value)
  return type(value) == "table" and value ~= json.null and not json.is_array(value)
end

local function object_at(value, path)
  if not is_object(value) then fail(path, "expected an object, got " .. describe_value(value)) end
  return value
end

-- An optional array: absent is empty.
local function list_at(value, path)
  if absent(value) then return {} end
  if type(value) ~= "table" or not json.is_array(value) then fail(path, "expected an array, got " .. describe_value(value)) end
  return value
end

local function string_at(value, path)
  if type(value) ~= "string" or value == "" then fail(path, "expected a non-empty string, got " .. describe_value(value)) end
  return value
end

local function optional_string_at(value, path)
  if absent(value) then return nil end
  return string_at(value, path)
end

-- FHIR instant: a date-time with seconds and a zone ("2026-11-23T09:15:00-05:00", "…Z", fractions allowed). Returns
-- the text as given and its UTC seconds (for ordering).
local function instant_at(value, path)
  string_at(value, path)
  local parsed, problem = datetime.parse(value)
  if parsed and not (value:match("T%d%d:%d%d:%d%d[.%d]*Z$") or value:match("T%d%d:%d%d:%d%d[.%d]*[+-]%d%d:%d%d$")) then
    parsed, problem = nil, "lacks the seconds or the zone"
  end
  if not parsed then fail(path, ("%q is not a FHIR instant (YYYY-MM-DDThh:mm:ss with Z or ±hh:mm): it %s"):format(value, problem)) end
  return value, parsed.epoch + parsed.fraction
end

-- References ----------------------------------------------------------------------------------------------------------

-- "Patient/p1", "https://ehr.example/fhir/Patient/p1/_history/3" → "Patient", "p1"
local function reference_parts(reference)
  local plain = reference:gsub("/_history/[^/]+$", "")
  return plain:match("(%u%a+)/([%w%-%.]+)$")
end

-- What a participant's actor names: { kind = "Patient"|"Location"|…, resource?, path? (of the resource), id? }.
-- `context` holds the Appointment's contained resources and the Bundle's entries.
local function target_of(actor, path, context)
  local reference = optional_string_at(actor.reference, path .. ".reference")
  local declared = optional_string_at(actor.type, path .. ".type")
  if reference == nil then return { kind = declared } end
  if reference:sub(1, 1) == "#" then
    local found = context.contained[reference:sub(2)]
    if not found then fail(path .. ".reference", ("%s names no resource in the Appointment's contained list"):format(reference)) end
    return { kind = found.resource.resourceType, resource = found.resource, path = found.path, id = found.resource.id }
  end
  local found = context.by_url[reference]
  local kind, id = reference_parts(reference)
  if not found and kind then found = context.by_id[kind .. "/" .. id] end
  if found then return { kind = found.resource.resourceType, resource = found.resource, path = found.path, id = found.resource.id } end
  return { kind = kind or declared, id = id }
end

-- Patient -------------------------------------------------------------------------------------------------------------

-- Whether a CodeableConcept has one of `codes` in `system` (or with no system); malformed codings just do not match.
local function has_code(concept, system, codes)
  if not is_object(concept) or type(concept.coding) ~= "table" then return false end
  for _, coding in ipairs(concept.coding) do
    if is_object(coding) and codes[coding.code] and (absent(coding.system) or coding.system == system) then return true end
  end
  return false
end

local function identifier_value(identifier, path)
  return string_at(object_at(identifier, path).value, path .. ".value")
end

-- "Peter James Chalmers" → "Peter James", "Chalmers" (the last word is the family name)
local function split_name(text)
  local given, family = text:match("^%s*(.-)%s+(%S+)%s*$")
  if not given then return nil, text:match("^%s*(.-)%s*$") end
  return given, family
end

local function names_of(resource, path)
  local names, chosen, chosen_at = list_at(resource.name, path .. ".name"), nil, nil
  for _, wanted in ipairs({ "official", "usual", false }) do
    for i, name in ipairs(names) do
      local at = ("%s.name[%d]"):format(path, i)
      object_at(name, at)
      if (wanted and name.use == wanted) or (not wanted and name.use ~= "old") then chosen, chosen_at = name, at; break end
    end
    if chosen then break end
  end
  if not chosen then return nil, nil end
  local given = {}
  for i, part in ipairs(list_at(chosen.given, chosen_at .. ".given")) do given[i] = string_at(part, ("%s.given[%d]"):format(chosen_at, i)) end
  local family = optional_string_at(chosen.family, chosen_at .. ".family")
  if #given == 0 and family == nil and not absent(chosen.text) then
    return split_name(string_at(chosen.text, chosen_at .. ".text"))
  end
  return #given > 0 and table.concat(given, " ") or nil, family
end

local function contact_of(resource, path)
  local entries = {}
  for i, telecom in ipairs(list_at(resource.telecom, path .. ".telecom")) do
    local at = ("%s.telecom[%d]"):format(path, i)
    object_at(telecom, at)
    if telecom.use ~= "old" and not absent(telecom.value) then
      local rank = absent(telecom.rank) and math.huge or telecom.rank
      if type(rank) ~= "number" then fail(at .. ".rank", "expected a positive integer, got " .. describe_value(rank)) end
      entries[#entries + 1] = { i = i, rank = rank, system = telecom.system, use = telecom.use, value = string_at(telecom.value, at .. ".value") }
    end
  end
  table.sort(entries, function(a, b) if a.rank ~= b.rank then return a.rank < b.rank end return a.i < b.i end)
  local mobile, other, email
  for _, entry in ipairs(entries) do
    if entry.system == "phone" or entry.system == "sms" then
      local number = phone.e164(entry.value)
      if number and (entry.system == "sms" or entry.use == "mobile") then mobile = mobile or number
      elseif number then other = other or number end
    elseif entry.system == "email" then
      email = email or phone.email(entry.value)
    end
  end
  local contact = { phone = mobile or other, email = email }
  if contact.phone == nil and contact.email == nil then return nil end
  return contact
end

local function consent_of(resource)
  local meta = is_object(resource.meta) and resource.meta or {}
  for _, label in ipairs(type(meta.security) == "table" and meta.security or {}) do
    if is_object(label) and label.system == CONFIDENTIALITY and (label.code == "R" or label.code == "V") then
      return { sms = false, email = false }
    end
  end
  return nil
end

local function patient_of(participant, at, target)
  local actor = participant.actor
  local resource, rpath = target.resource, target.path
  local mrn
  if resource then
    for i, identifier in ipairs(list_at(resource.identifier, rpath .. ".identifier")) do
      local ipath = ("%s.identifier[%d]"):format(rpath, i)
      if has_code(object_at(identifier, ipath).type, V2_0203, { MR = true }) then mrn = identifier_value(identifier, ipath); break end
    end
  end
  if not mrn and not absent(actor.identifier) then mrn = identifier_value(actor.identifier, at .. ".actor.identifier") end
  if not mrn and resource and #list_at(resource.identifier, rpath .. ".identifier") > 0 then
    mrn = identifier_value(resource.identifier[1], rpath .. ".identifier[1]")
  end
  if not mrn and target.id and not (actor.reference or ""):match("^#") then mrn = target.id end
  if not mrn then
    fail(rpath and (rpath .. ".identifier") or (at .. ".actor"),
         "the patient has no identifier (an MRN is needed to match the patient in Odoo)")
  end
  local patient = { mrn = mrn }
  if resource then
    patient.given_name, patient.family_name = names_of(resource, rpath)
    patient.contact = contact_of(resource, rpath)
    patient.consent = consent_of(resource)
  end
  if patient.given_name == nil and patient.family_name == nil and not absent(actor.display) then
    patient.given_name, patient.family_name = split_name(string_at(actor.display, at .. ".actor.display"))
  end
  return patient
end

-- Site and service ----------------------------------------------------------------------------------------------------

local function short_name(text) return (text:match("%w+") or ""):lower() end

local function site_of(appointment, path, located)
  for i, extension in ipairs(list_at(appointment.extension, path .. ".extension")) do
    local at = ("%s.extension[%d]"):format(path, i)
    if object_at(extension, at).url == M.SITE_EXTENSION then
      local value = extension.valueCode or extension.valueString
      return string_at(value, at .. (extension.valueCode and ".valueCode" or ".valueString")):lower()
    end
  end
  if not located then return nil end
  local actor, target, at = located.actor, located.target, located.path
  if not absent(actor.identifier) then return identifier_value(actor.identifier, at .. ".identifier"):lower() end
  if target.resource then
    for i, identifier in ipairs(list_at(target.resource.identifier, target.path .. ".identifier")) do
      local ipath = ("%s.identifier[%d]"):format(target.path, i)
      if object_at(identifier, ipath).system == M.SITE_SYSTEM then return identifier_value(identifier, ipath):lower() end
    end
  end
  -- An id that is a plain word ("Location/south") is the site's name; an opaque one ("loc-ns-01", "1") is not.
  if target.id and target.id:match("^%a+$") then return target.id:lower() end
  local display = optional_string_at(actor.display, at .. ".display")
  if display == nil and target.resource then display = optional_string_at(target.resource.name, target.path .. ".name") end
  if display and short_name(display) ~= "" then return short_name(display) end
  return target.id and target.id:lower() or nil
end

local function codings(concept, path)
  if absent(concept) then return {} end
  object_at(concept, path)
  local out = {}
  for i, coding in ipairs(list_at(concept.coding, path .. ".coding")) do
    local at = ("%s.coding[%d]"):format(path, i)
    object_at(coding, at)
    if not absent(coding.code) then
      out[#out + 1] = { code = string_at(coding.code, at .. ".code"), system = optional_string_at(coding.system, at .. ".system"),
                        text = optional_string_at(coding.display, at .. ".display") or optional_string_at(concept.text, path .. ".text") }
    end
  end
  return out
end

local function service_of(appointment, path)
  local service_types, places = {}, {}
  for i, concept in ipairs(list_at(appointment.serviceType, path .. ".serviceType")) do
    for _, coding in ipairs(codings(concept, ("%s.serviceType[%d]"):format(path, i))) do service_types[#service_types + 1] = coding end
  end
  places[1] = service_types
  places[2] = codings(appointment.appointmentType, path .. ".appointmentType")
  local categories = {}
  for i, concept in ipairs(list_at(appointment.serviceCategory, path .. ".serviceCategory")) do
    for _, coding in ipairs(codings(concept, ("%s.serviceCategory[%d]"):format(path, i))) do categories[#categories + 1] = coding end
  end
  places[3] = categories
  for _, list in ipairs(places) do
    for _, coding in ipairs(list) do
      local billing = coding.system and M.SERVICE_SYSTEMS[coding.system]
      if billing then return { code = coding.code, system = billing, text = coding.text } end
    end
  end
  local first = service_types[1]
  if not first then return nil end
  return { code = first.code, system = first.system and (OTHER_SYSTEMS[first.system] or first.system), text = first.text }
end

-- Appointment → event -------------------------------------------------------------------------------------------------

local function contained_of(appointment, path)
  local contained = {}
  for i, resource in ipairs(list_at(appointment.contained, path .. ".contained")) do
    local at = ("%s.contained[%d]"):format(path, i)
    object_at(resource, at)
    contained[string_at(resource.id, at .. ".id")] = { resource = resource, path = at }
  end
  return contained
end

local function appointment_event(record, bundle)
  local r, path = record.resource, record.path
  local meta = r.meta
  if absent(meta) or absent(meta.lastUpdated) then
    fail(path .. ".meta.lastUpdated", "missing: the time of this version is what orders the appointment's events")
  end
  object_at(meta, path .. ".meta")
  local occurred_at, occurred_epoch = instant_at(meta.lastUpdated, path .. ".meta.lastUpdated")
  local version = optional_string_at(meta.versionId, path .. ".meta.versionId")

  local status = string_at(r.status, path .. ".status")
  local kind = M.EVENT_OF_STATUS[status]
  if kind == nil then fail(path .. ".status", ("%q is not an Appointment status of FHIR R4"):format(status)) end
  if kind == false then
    log.info("waitlisted appointment: no event", { path = path })
    return nil
  end
  if kind == "booked" then
    kind = (version == nil or version == "1") and "appointment.booked" or "appointment.rescheduled"
  end

  local identifiers = list_at(r.identifier, path .. ".identifier")
  local first_identifier = identifiers[1] and identifier_value(identifiers[1], path .. ".identifier[1]") or nil
  local id = optional_string_at(r.id, path .. ".id") or first_identifier
  if not id then fail(path .. ".id", "the appointment has neither an id nor an identifier") end

  local start = not absent(r.start) and instant_at(r.start, path .. ".start") or nil
  local stop = not absent(r["end"]) and instant_at(r["end"], path .. ".end") or nil
  if not TIMES_OPTIONAL[status] then
    if not start then fail(path .. ".start", ("missing: a %s appointment needs its start"):format(status)) end
    if not stop then fail(path .. ".end", ("missing: a %s appointment needs its end"):format(status)) end
  end
  local duration = r.minutesDuration
  if not absent(duration) and (math.type(duration) ~= "integer" or duration <= 0) then
    fail(path .. ".minutesDuration", "expected a positive integer, got " .. describe_value(duration))
  end

  local context = { contained = contained_of(r, path), by_url = bundle.by_url, by_id = bundle.by_id }
  local patients, located = {}, nil
  local participants = list_at(r.participant, path .. ".participant")
  for i, participant in ipairs(participants) do
    local at = ("%s.participant[%d]"):format(path, i)
    object_at(participant, at)
    if not absent(participant.actor) then
      local target = target_of(object_at(participant.actor, at .. ".actor"), at .. ".actor", context)
      if target.kind == "Patient" then patients[#patients + 1] = { participant = participant, path = at, target = target } end
      if target.kind == "Location" and not located then located = { actor = participant.actor, target = target, path = at .. ".actor" } end
    end
  end
  if #patients == 0 then
    fail(path .. ".participant", "no participant is a Patient (actor.reference Patient/<id>, #<contained id> or a Bundle entry)")
  end
  if #patients > 1 then
    fail(path .. ".participant", ("%d participants are Patients; a group appointment is not supported"):format(#patients))
  end
  local p = patients[1]

  return {
    _epoch = occurred_epoch,
    type = kind,
    idempotency_key = ("fhir:Appointment/%s/_history/%s"):format(id, version or occurred_at),
    occurred_at = occurred_at,
    appointment = {
      id = id,
      placer_id = (r.id ~= nil and first_identifier ~= id) and first_identifier or nil,
      start = start, stop = stop, duration_minutes = not absent(duration) and duration or nil,
      status = status,
      site = site_of(r, path, located),
      service = service_of(r, path),
    },
    patient = patient_of(p.participant, p.path, p.target),
  }
end

-- Payloads ------------------------------------------------------------------------------------------------------------

local function bundle_records(doc)
  local appointments, by_url, by_id = {}, {}, {}
  for i, entry in ipairs(list_at(doc.entry, "$.entry")) do
    local path = ("$.entry[%d]"):format(i)
    object_at(entry, path)
    if absent(entry.resource) then
      local request = is_object(entry.request) and entry.request or {}
      if request.method ~= "DELETE" then fail(path .. ".resource", "missing (only a DELETE in a history may have none)") end
      log.info("deleted resource in a history bundle: no event", { path = path })
    else
      local resource = object_at(entry.resource, path .. ".resource")
      local rpath = path .. ".resource"
      local kind = string_at(resource.resourceType, rpath .. ".resourceType")
      local record = { resource = resource, path = rpath }
      if kind == "Appointment" then
        appointments[#appointments + 1] = record
      elseif kind == "Patient" or kind == "Location" then
        local url = optional_string_at(entry.fullUrl, path .. ".fullUrl")
        if url and not by_url[url] then by_url[url] = record end
        local id = optional_string_at(resource.id, rpath .. ".id")
        if id and not by_id[kind .. "/" .. id] then by_id[kind .. "/" .. id] = record end
      elseif not SKIPPED_TYPES[kind] then
        fail(rpath .. ".resourceType", ("%s is not handled here: a Bundle carries Appointments (with their Patients and Locations)"):format(kind))
      end
    end
  end
  return appointments, { by_url = by_url, by_id = by_id }
end

function M.decode(body)
  local ok, doc = pcall(json.decode, body)
  if not ok then fail("$", "not JSON: " .. tostring(type(doc) == "table" and doc.message or doc)) end
  object_at(doc, "$")
  local kind = string_at(doc.resourceType, "$.resourceType")
  local appointments, bundle
  if kind == "Appointment" then
    appointments, bundle = { { resource = doc, path = "$" } }, { by_url = {}, by_id = {} }
  elseif kind == "Bundle" then
    local bundle_type = string_at(doc.type, "$.type")
    if not M.BUNDLE_TYPES[bundle_type] then
      fail("$.type", ("a %s Bundle is not handled (history, collection or subscription-notification)"):format(bundle_type))
    end
    appointments, bundle = bundle_records(doc)
  else
    fail("$.resourceType", ("%s is not handled: send an Appointment, or a Bundle of Appointments"):format(kind))
  end
  local events = {}
  for _, record in ipairs(appointments) do
    local event = appointment_event(record, bundle)
    if event then
      event._order = { event._epoch, #events }
      event._epoch = nil
      events[#events + 1] = event
    end
  end
  -- Oldest first, so a history read newest-first still reaches the mapping in the order it happened.
  table.sort(events, function(a, b)
    if a._order[1] ~= b._order[1] then return a._order[1] < b._order[1] end
    return a._order[2] < b._order[2]
  end)
  for _, event in ipairs(events) do event._order = nil end
  return json.array(events)
end

return M
