local plugin = require("plugin")
local json = require("json")

-- Entries of fixtures/fhir-bundle-encounter.json:
--   1 Organization south, 2 Patient, 3 Organization acme, 4 Coverage, 5 Encounter svc-2002,
--   6 ChargeItem 99214, 7 ChargeItem 93000, 8 ChargeItem G0008 (unitPriceComponent), 9 ChargeItem 36415 not-billable,
--   10 ChargeItem 97110 billed, quantity 2
describe("ehr-events: a FHIR R4 Bundle with a finished Encounter", function()
  local bundle

  before_each(function()
    bundle = fixture_json("fixtures/fhir-bundle-encounter.json")
  end)

  local function resource(i) return bundle.entry[i].resource end
  local function decode(value) return plugin.decode(json.encode(value), {}) end
  local function one(value)
    local events = decode(value)
    assert.are.equal(1, #events)
    return events[1]
  end
  local function refuses(value, message)
    assert.has_error(function() decode(value) end, message)
  end
  local function remove_entry(i) table.remove(bundle.entry, i) end

  it("becomes one service.completed event in the canonical shape", function()
    assert.are.same({
      {
        type = "service.completed",
        id = "evt-20261121-0457",
        idempotency_key = "service.completed:svc-2002",
        service = { id = "svc-2002", site = "south", date = "2026-11-21", status = "completed" },
        patient = {
          mrn = "MRN-0052210", given_name = "Jonas Erik", family_name = "Lindqvist", email = "jonas.lindqvist@example.net",
          birth_date = "1971-08-02", sex = "M",
          address = { line = "88 Alder Court", city = "Fort Collins", state = "CO", postal_code = "80521" },
        },
        payer = { id = "payer-acme", name = "Acme Health", member_id = "ACM553019244" },
        diagnoses = { "R07.89" },
        lines = {
          { code = "99214", quantity = 1, unit_price = 180.0 },
          { code = "93000", quantity = 1, unit_price = 64.5 },
          { code = "G0008", quantity = 1, unit_price = 28.25 },
          { code = "97110", quantity = 2, unit_price = 48.5 },
        },
        currency = "USD",
      },
    }, plugin.decode(fixture("fixtures/fhir-bundle-encounter.json"), {}))
  end)

  it("carries nothing clinical or identifying beyond the canonical fields", function()
    local encoded = json.encode(decode(bundle))
    for _, dropped in ipairs({ "000-00-0000", "+1-555-0178", "CM-1180", "male", "Jonas Erik Lindqvist" }) do
      assert.is_nil(encoded:find(dropped, 1, true), "kept " .. dropped)
    end
  end)

  it("leaves what only a claim needs behind when there is no payer", function()
    remove_entry(4) -- the Coverage
    local event = one(bundle)
    assert.is_nil(event.payer)
    local encoded = json.encode(event)
    for _, dropped in ipairs({ "1971-08-02", "R07.89", "Alder", "80521", "\"sex\"" }) do
      assert.is_nil(encoded:find(dropped, 1, true), "kept " .. dropped)
    end
  end)

  describe("the claim's diagnoses", function()
    local function add_condition(id, code, system)
      bundle.entry[#bundle.entry + 1] = { fullUrl = "urn:uuid:cond-" .. id, resource = {
        resourceType = "Condition", id = id,
        code = { coding = { { system = system or "http://hl7.org/fhir/sid/icd-10-cm", code = code } } },
      } }
    end

    it("come from Encounter.diagnosis in rank order, unranked ones last, each once", function()
      add_condition("c1", "I10")
      add_condition("c2", "E11.9")
      add_condition("c3", "Z79.4")
      resource(5).diagnosis = {
        { condition = { reference = "urn:uuid:cond-c3" } },
        { condition = { reference = "Condition/c1" }, rank = 2 },
        { condition = { reference = "Condition/c2" }, rank = 1 },
        { condition = { reference = "Condition/c1" }, rank = 3 },
      }
      assert.are.same({ "E11.9", "I10", "Z79.4" }, one(bundle).diagnoses)
    end)

    it("fall back to the ICD-10-CM codings of reasonCode, and are absent when there are none", function()
      resource(5).reasonCode = { { coding = { { system = "http://snomed.info/sct", code = "29857009" } } } }
      assert.is_nil(one(bundle).diagnoses)
    end)

    it("refuse a diagnosis whose Condition is not in the Bundle or has no ICD-10-CM code", function()
      resource(5).diagnosis = { { condition = { reference = "Condition/missing" } } }
      refuses(bundle, '$.entry[5].resource.diagnosis[1].condition.reference: "Condition/missing" is not a Condition in the Bundle')
      add_condition("snomed", "29857009", "http://snomed.info/sct")
      resource(5).diagnosis = { { condition = { reference = "Condition/snomed" } } }
      refuses(bundle, "$.entry[11].resource.code: no ICD-10-CM coding (system http://hl7.org/fhir/sid/icd-10-cm); a claim carries ICD-10-CM diagnoses")
      add_condition("bad", "chest pain")
      resource(5).diagnosis = { { condition = { reference = "Condition/bad" } } }
      refuses(bundle, '$.entry[12].resource.code: "chest pain" is not an ICD-10-CM code like E11.9')
      add_condition("ok", "I10")
      resource(5).diagnosis = { { condition = { reference = "Condition/ok" }, rank = 0 } }
      refuses(bundle, "$.entry[5].resource.diagnosis[1].rank: expected a positive integer, got a number (0)")
    end)
  end)

  describe("the subscriber's demographics", function()
    it("leave out a partial birth date and an address missing a part", function()
      resource(2).birthDate = "1971-08"
      resource(2).address[1].postalCode = nil
      local patient = one(bundle).patient
      assert.is_nil(patient.birth_date)
      assert.is_nil(patient.address)
      assert.are.equal("M", patient.sex)
    end)

    it("prefer the home address over an earlier work one, and skip old ones", function()
      resource(2).address = {
        { use = "old", line = { "1 Gone Rd" }, city = "Denver", state = "CO", postalCode = "80202" },
        { use = "work", line = { "5 Office Park", "Suite 3" }, city = "Loveland", state = "CO", postalCode = "80537" },
        { use = "home", line = { "88 Alder Court" }, city = "Fort Collins", state = "CO", postalCode = "80521" },
      }
      assert.are.equal("88 Alder Court", one(bundle).patient.address.line)
      table.remove(resource(2).address, 3)
      assert.are.equal("5 Office Park Suite 3", one(bundle).patient.address.line)
    end)

    it("map FHIR gender to the claim's sex code and refuse one FHIR does not define", function()
      resource(2).gender = "female"
      assert.are.equal("F", one(bundle).patient.sex)
      resource(2).gender = "unknown"
      assert.are.equal("U", one(bundle).patient.sex)
      resource(2).gender = "f"
      refuses(bundle, '$.entry[2].resource.gender: "f" is not a FHIR administrative gender')
    end)
  end)

  it("takes the service date as written in the Encounter's own offset", function()
    resource(5).period.start = "2026-11-21T23:30:00-07:00"
    assert.are.equal("2026-11-21", one(bundle).service.date)
    resource(5).period.start = "2026-11-22"
    assert.are.equal("2026-11-22", one(bundle).service.date)
  end)

  it("falls back to the Bundle id, then to the Encounter, for the event id", function()
    bundle.identifier = nil
    assert.are.equal("bundle-svc-2002", one(bundle).id)
    bundle.id = nil
    assert.are.equal("Encounter/svc-2002", one(bundle).id)
  end)

  describe("the site", function()
    it("is the service provider's identifier when the reference gives one", function()
      resource(5).serviceProvider = { identifier = { system = "https://northside-clinics.example/sites", value = "west" } }
      assert.are.equal("west", one(bundle).service.site)
    end)

    it("is the first location when there is no service provider", function()
      resource(5).serviceProvider = nil
      resource(5).location = { { location = { reference = "Location/east-2", display = "East, 2nd floor" } } }
      assert.are.equal("east-2", one(bundle).service.site)
    end)

    it("is absent when the Encounter names neither", function()
      resource(5).serviceProvider = nil
      assert.is_nil(one(bundle).service.site)
    end)

    it("refuses a provider named only by display", function()
      resource(5).serviceProvider = { display = "South clinic" }
      refuses(bundle, "$.entry[5].resource.serviceProvider: expected a reference or an identifier naming the site")
    end)
  end)

  describe("the patient", function()
    it("is found by the Encounter's subject, through a urn:uuid fullUrl", function()
      assert.are.equal("MRN-0052210", one(bundle).patient.mrn)
    end)

    it("is the Bundle's only Patient when the Encounter has no subject", function()
      resource(5).subject = nil
      assert.are.equal("MRN-0052210", one(bundle).patient.mrn)
    end)

    it("has the identifier of type MR as MRN, not the first identifier", function()
      table.insert(resource(2).identifier, 1, { system = "https://other.example/ids", value = "X-1" })
      assert.are.equal("MRN-0052210", one(bundle).patient.mrn)
    end)

    it("has no e-mail when its telecom has none", function()
      resource(2).telecom = { { system = "phone", value = "+1-555-0178" } }
      assert.is_nil(one(bundle).patient.email)
      resource(2).telecom = nil
      assert.is_nil(one(bundle).patient.email)
    end)

    it("refuses a subject that is not a Patient in the Bundle", function()
      resource(5).subject = { reference = "Patient/unknown" }
      refuses(bundle, '$.entry[5].resource.subject.reference: "Patient/unknown" is not a Patient in the Bundle')
      resource(5).subject = { reference = "Organization/south" }
      refuses(bundle, '$.entry[5].resource.subject.reference: "Organization/south" is not a Patient in the Bundle')
    end)

    it("refuses a missing subject when there is not exactly one Patient", function()
      resource(5).subject = nil
      remove_entry(2)
      refuses(bundle, "$.entry[4].resource.subject: missing, and the Bundle has 0 Patients, not one")
    end)

    it("refuses a patient without an MR identifier", function()
      resource(2).identifier[2].type.coding[1].code = "MB"
      refuses(bundle, "$.entry[2].resource.identifier: no identifier of type MR (the medical record number)")
      resource(2).identifier = nil
      refuses(bundle, "$.entry[2].resource.identifier: expected a non-empty array, got missing")
    end)

    it("refuses an MR identifier without a value", function()
      resource(2).identifier[2].value = nil
      refuses(bundle, "$.entry[2].resource.identifier[2].value: expected a non-empty string, got missing")
    end)

    it("refuses a patient without a family or given name", function()
      resource(2).name[1].family = nil
      refuses(bundle, "$.entry[2].resource.name[1].family: expected a non-empty string, got missing")
      resource(2).name[1].family = "Lindqvist"
      resource(2).name[1].given = { "Jonas", 7 }
      refuses(bundle, "$.entry[2].resource.name[1].given[2]: expected a non-empty string, got a number (7)")
      resource(2).name = nil
      refuses(bundle, "$.entry[2].resource.name: expected a non-empty array, got missing")
    end)
  end)

  describe("the payer", function()
    it("is absent without a Coverage: self-pay", function()
      remove_entry(4)
      assert.is_nil(one(bundle).payer)
    end)

    it("is absent when the only Coverage is cancelled", function()
      resource(4).status = "cancelled"
      assert.is_nil(one(bundle).payer)
    end)

    it("is the active Coverage with the lowest order", function()
      local secondary = json.decode(json.encode(resource(4)))
      secondary.id, secondary.order, secondary.subscriberId = "cov-58213-2", 2, "SEC-0001"
      secondary.payor = { { identifier = { value = "payer-second" }, display = "Second Mutual" } }
      table.insert(bundle.entry, 4, { resource = secondary })
      assert.are.same({ id = "payer-acme", name = "Acme Health", member_id = "ACM553019244" }, one(bundle).payer)
      -- now entry 4 is the secondary Coverage and entry 5 the original one: swap their order
      secondary.order = 1
      resource(5).order = 2
      assert.are.same({ id = "payer-second", name = "Second Mutual", member_id = "SEC-0001" }, one(bundle).payer)
    end)

    it("refuses two active Coverages of the same order", function()
      local other = json.decode(json.encode(resource(4)))
      other.id = "cov-58213-9"
      bundle.entry[#bundle.entry + 1] = { resource = other }
      refuses(bundle, "$.entry: 2 active Coverages without distinct order ($.entry[4].resource, $.entry[11].resource); which one pays is ambiguous")
    end)

    it("takes the payer's name from its Organization when the payor has no display", function()
      resource(4).payor[1].display = nil
      resource(3).name = "Acme Health Plans"
      assert.are.equal("Acme Health Plans", one(bundle).payer.name)
    end)

    it("takes the member id from an identifier of type MB when there is no subscriberId", function()
      resource(4).subscriberId = nil
      resource(4).identifier = { { type = { coding = { { system = "http://terminology.hl7.org/CodeSystem/v2-0203", code = "MB" } } }, value = "MB-77" } }
      assert.are.equal("MB-77", one(bundle).payer.member_id)
    end)

    it("refuses a Coverage without a member id", function()
      resource(4).subscriberId = nil
      refuses(bundle, "$.entry[4].resource.subscriberId: missing, and no identifier of type MB (the member id)")
    end)

    it("refuses a payor with no name anywhere", function()
      resource(4).payor = { { reference = "Organization/elsewhere" } }
      refuses(bundle, "$.entry[4].resource.payor[1]: the payer has no display and no Organization with a name in the Bundle")
      resource(4).payor = nil
      refuses(bundle, "$.entry[4].resource.payor: expected a non-empty array, got missing")
    end)

    it("refuses a Coverage for another patient", function()
      local other = json.decode(json.encode(resource(2)))
      other.id = "pat-other"
      bundle.entry[#bundle.entry + 1] = { fullUrl = "urn:uuid:other", resource = other }
      resource(4).beneficiary.reference = "urn:uuid:other"
      refuses(bundle, "$.entry[4].resource.beneficiary: the Coverage is for $.entry[11].resource, not the Encounter's patient")
    end)
  end)

  describe("the charges", function()
    it("bill the ChargeItems of the Encounter, leaving out not-billable ones", function()
      local codes = {}
      for i, line in ipairs(one(bundle).lines) do codes[i] = line.code end
      assert.are.same({ "99214", "93000", "G0008", "97110" }, codes)
    end)

    it("divide an R4 priceOverride, the charge's total, by its quantity", function()
      assert.are.same({ code = "97110", quantity = 2, unit_price = 48.5 }, one(bundle).lines[4])
    end)

    it("count one unit when the ChargeItem has no quantity", function()
      assert.are.equal(1, one(bundle).lines[3].quantity)
    end)

    it("take the CPT or HCPCS coding among several", function()
      resource(6).code.coding = { { system = "https://ehr.northside-clinics.example/chargemaster", code = "CM-1" },
                                  { system = "urn:oid:2.16.840.1.113883.6.12", code = "99212" } }
      assert.are.equal("99212", one(bundle).lines[1].code)
    end)

    it("refuse the published ChargeItem example: a German EBM code has no CPT or HCPCS coding", function()
      local sample = fixture_json("fixtures/fhir/ChargeItem-example.json")
      resource(5).id = "example"
      bundle.entry = { bundle.entry[2], bundle.entry[5], { resource = sample } }
      refuses(bundle, "$.entry[3].resource.code.coding: no CPT or HCPCS coding (system http://www.ama-assn.org/go/cpt or "
        .. "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets)")
      sample.code.coding[2] = { system = "http://www.ama-assn.org/go/cpt", code = "99215" }
      local event = one(bundle)
      assert.are.same({ { code = "99215", quantity = 1, unit_price = 40.0 } }, event.lines)
      assert.are.equal("EUR", event.currency)
      assert.are.equal("service.completed:example", event.idempotency_key)
    end)

    it("refuse a ChargeItem of another encounter", function()
      resource(7).context.reference = "Encounter/svc-9999"
      refuses(bundle, '$.entry[7].resource.context.reference: "Encounter/svc-9999" is not the Bundle\'s Encounter (Encounter/svc-2002)')
      resource(7).context = nil
      refuses(bundle, "$.entry[7].resource.context: expected an object, got missing")
    end)

    it("refuse a ChargeItem still planned", function()
      resource(8).status = "planned"
      refuses(bundle, '$.entry[8].resource.status: the ChargeItem is "planned"; a finished encounter bills billable or billed items '
        .. "(not-billable, aborted and entered-in-error ones are left out)")
    end)

    it("refuse a ChargeItem without a price", function()
      resource(6).priceOverride = nil
      refuses(bundle, "$.entry[6].resource: no priceOverride or unitPriceComponent; the charge has no price")
    end)

    it("refuse a price without a currency", function()
      resource(6).priceOverride.currency = nil
      refuses(bundle, "$.entry[6].resource.priceOverride.currency: missing")
      resource(6).priceOverride.currency = "USD"
      resource(8).unitPriceComponent.amount.currency = nil
      refuses(bundle, "$.entry[8].resource.unitPriceComponent.amount.currency: missing")
    end)

    it("refuse charges in two currencies", function()
      resource(7).priceOverride.currency = "EUR"
      refuses(bundle, "$.entry[7].resource: currency EUR differs from USD at $.entry[6].resource")
    end)

    it("refuse a total that does not divide into whole cents over the quantity", function()
      resource(10).priceOverride.value = 100.0
      resource(10).quantity.value = 3
      refuses(bundle, "$.entry[10].resource.priceOverride.value: the total 100.0 does not divide into whole cents over quantity 3")
    end)

    it("refuse a zero quantity or a price that is not positive", function()
      resource(10).quantity.value = 0
      refuses(bundle, "$.entry[10].resource.quantity.value: 0 must be greater than zero")
      resource(10).quantity.value = 2
      resource(6).priceOverride.value = -180.0
      refuses(bundle, "$.entry[6].resource.priceOverride.value: -180.0 must be greater than zero")
      resource(6).priceOverride.value = "180.00"
      refuses(bundle, '$.entry[6].resource.priceOverride.value: expected a number, got the string "180.00"')
    end)

    it("refuse a price that is not a whole number of cents", function()
      resource(8).unitPriceComponent.amount.value = 28.255
      refuses(bundle, "$.entry[8].resource.unitPriceComponent.amount.value: 28.255 is not a whole number of cents")
    end)

    it("refuse a unit price component that is not the base price", function()
      resource(8).unitPriceComponent.type = "surcharge"
      refuses(bundle, '$.entry[8].resource.unitPriceComponent.type: expected "base", got the string "surcharge"')
    end)

    it("refuse an Encounter with nothing billable", function()
      for i = 6, 10 do resource(i).status = "not-billable" end
      refuses(bundle, "$.entry: no billable ChargeItem for Encounter/svc-2002")
    end)
  end)

  describe("refuses", function()
    it("the published Encounter example: it is still in progress", function()
      bundle.entry = { { resource = fixture_json("fixtures/fhir/Encounter-example.json") } }
      refuses(bundle, '$.entry[1].resource.status: the Encounter is "in-progress", not finished; only a finished encounter is billed')
    end)

    it("a Bundle without an Encounter, or with two", function()
      remove_entry(5)
      refuses(bundle, "$.entry: expected exactly one Encounter, found 0")
      bundle = fixture_json("fixtures/fhir-bundle-encounter.json")
      local other = json.decode(json.encode(resource(5)))
      other.id = "svc-2003"
      bundle.entry[#bundle.entry + 1] = { resource = other }
      refuses(bundle, "$.entry: expected exactly one Encounter, found 2 ($.entry[5].resource, $.entry[11].resource)")
    end)

    it("an Encounter without an id or a period start", function()
      resource(5).id = nil
      refuses(bundle, "$.entry[5].resource.id: expected a non-empty string, got missing")
      resource(5).id = "svc-2002"
      resource(5).period.start = "2026-11"
      refuses(bundle, '$.entry[5].resource.period.start: "2026-11" is not a full date or dateTime (YYYY-MM-DD…)')
      resource(5).period = nil
      refuses(bundle, "$.entry[5].resource.period: expected an object, got missing")
    end)

    it("a Bundle without entries, or an entry without a resource", function()
      bundle.entry[3].resource = nil
      refuses(bundle, "$.entry[3].resource: expected an object, got missing")
      bundle.entry[3] = { resource = { id = "x" } }
      refuses(bundle, "$.entry[3].resource.resourceType: expected a non-empty string, got missing")
      bundle.entry = json.array({})
      refuses(bundle, "$.entry: expected a non-empty array, got an empty array")
      bundle.entry = nil
      refuses(bundle, "$.entry: expected a non-empty array, got missing")
    end)

    it("a resource type it does not take", function()
      refuses(fixture_json("fixtures/fhir/Encounter-example.json"),
        '$.resourceType: unsupported resource type "Encounter" (expected Bundle, Claim or ClaimResponse)')
      bundle.resourceType = 4
      refuses(bundle, "$.resourceType: expected a non-empty string, got a number (4)")
    end)
  end)
end)
