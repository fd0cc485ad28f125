local plugin = require("plugin")
local json = require("json")

describe("ehr-events: plain JSON from the scheduling SaaS", function()
  local doc

  before_each(function()
    doc = fixture_json("fixtures/plain-service-completed.json")
  end)

  local function decode(value) return plugin.decode(json.encode(value), {}) end
  local function one(value)
    local events = decode(value)
    assert.are.equal(1, #events)
    return events[1]
  end
  local function refuses(value, message)
    assert.has_error(function() decode(value) end, message)
  end

  it("decodes a completed service into one canonical event", function()
    assert.are.same({
      {
        type = "service.completed",
        id = "evt-20261120-0193",
        idempotency_key = "service.completed:svc-1001",
        service = { id = "svc-1001", site = "north", date = "2026-11-20", status = "completed" },
        patient = { mrn = "MRN-0047711", given_name = "Maria", family_name = "Okafor", email = "m.okafor@example.org",
                    birth_date = "1984-03-17" },
        payer = { id = "payer-acme", name = "Acme Health", member_id = "XJH884120937" },
        lines = {
          { code = "99213", quantity = 1, unit_price = 125.0 },
          { code = "36415", quantity = 1, unit_price = 18.5 },
          { code = "85025", quantity = 1, unit_price = 42.75 },
        },
        currency = "USD",
      },
    }, plugin.decode(fixture("fixtures/plain-service-completed.json"), {}))
  end)

  it("drops what the SaaS adds beyond the canonical shape: phone, notes, room", function()
    local encoded = json.encode(decode(doc))
    for _, dropped in ipairs({ "+1-555-0142", "improved sleep", "N-204", "GRP-55120", "office visit", "occurred_at" }) do
      assert.is_nil(encoded:find(dropped, 1, true), "kept " .. dropped)
    end
  end)

  it("drops the birth date, sex, address and diagnoses of a self-pay service: only a claim needs them", function()
    doc.payer = nil
    doc.diagnoses = { "E11.9" }
    doc.patient.sex = "F"
    doc.patient.address = { line = "4 Birch Way", city = "Boulder", state = "CO", postal_code = "80301" }
    local encoded = json.encode(decode(doc))
    for _, dropped in ipairs({ "1984-03-17", "E11.9", "Birch", "\"sex\"" }) do
      assert.is_nil(encoded:find(dropped, 1, true), "kept " .. dropped)
    end
  end)

  it("carries a claim's diagnoses, sex and address when there is a payer, each once", function()
    doc.diagnoses = { "E11.9", "I10", "E11.9" }
    doc.patient.sex = "F"
    doc.patient.address = { line = "4 Birch Way", city = "Boulder", state = "CO", postal_code = "80301" }
    local event = one(doc)
    assert.are.same({ "E11.9", "I10" }, event.diagnoses)
    assert.are.equal("F", event.patient.sex)
    assert.are.same({ line = "4 Birch Way", city = "Boulder", state = "CO", postal_code = "80301" }, event.patient.address)
  end)

  it("refuses claim data it cannot use, naming the field", function()
    doc.diagnoses = { "E11.9", "diabetes" }
    refuses(doc, '$.diagnoses[2]: "diabetes" is not an ICD-10-CM code like E11.9')
    doc.diagnoses = nil
    doc.patient.sex = "female"
    refuses(doc, '$.patient.sex: "female" is not F, M or U')
    doc.patient.sex = nil
    doc.patient.birth_date = "17/03/1984"
    refuses(doc, '$.patient.birth_date: "17/03/1984" is not a calendar date YYYY-MM-DD')
    doc.patient.birth_date = nil
    doc.patient.address = { line = "4 Birch Way", city = "Boulder", state = "CO" }
    refuses(doc, "$.patient.address.postal_code: expected a non-empty string, got missing")
  end)

  it("keys the event by the service, so a redelivery is recognised", function()
    doc.id = "evt-redelivered-0002"
    assert.are.equal("service.completed:svc-1001", one(doc).idempotency_key)
  end)

  it("treats a service without a payer as self-pay", function()
    doc.payer = nil
    assert.is_nil(one(doc).payer)
    doc.payer = json.null
    assert.is_nil(one(doc).payer)
  end)

  it("leaves out an e-mail or site the source does not have", function()
    doc.patient.email = nil
    doc.service.site = json.null
    local event = one(doc)
    assert.is_nil(event.patient.email)
    assert.is_nil(event.service.site)
  end)

  it("keeps fractional quantities and prices as numbers", function()
    doc.lines = { { code = "97110", quantity = 1.5, unit_price = 33.33 } }
    assert.are.same({ { code = "97110", quantity = 1.5, unit_price = 33.33 } }, one(doc).lines)
  end)

  describe("refuses", function()
    it("a payload that is not JSON, naming the byte", function()
      assert.error_matches(function() plugin.decode("{\"type\": \"service.completed\",", {}) end, "^%$: the payload is not JSON: .*")
      assert.error_matches(function() plugin.decode("", {}) end, "^%$: the payload is not JSON: ")
    end)

    it("a payload that is not a string", function()
      assert.has_error(function() plugin.decode(nil, {}) end, "payload: expected the request body as a string, got missing")
    end)

    it("JSON that is not an object", function()
      assert.has_error(function() plugin.decode("[1, 2]", {}) end, "$: expected a JSON object, got an array")
      assert.has_error(function() plugin.decode("\"svc-1001\"", {}) end, '$: expected a JSON object, got the string "svc-1001"')
    end)

    it("an unknown or missing event type", function()
      doc.type = "service.cancelled"
      refuses(doc, '$.type: unsupported event type the string "service.cancelled" (expected service.completed, or a FHIR resource with resourceType)')
      doc.type = nil
      refuses(doc, "$.type: unsupported event type missing (expected service.completed, or a FHIR resource with resourceType)")
    end)

    it("an event without an id", function()
      doc.id = 17
      refuses(doc, "$.id: expected a non-empty string, got a number (17)")
    end)

    it("a missing or ill-typed service", function()
      doc.service.id = nil
      refuses(doc, "$.service.id: expected a non-empty string, got missing")
      doc.service = { "svc-1001" }
      refuses(doc, "$.service: expected an object, got an array")
    end)

    it("a service site that is not a string", function()
      doc.service.site = 7
      refuses(doc, "$.service.site: expected a non-empty string, got a number (7)")
    end)

    it("a service date that is not a calendar date", function()
      doc.service.date = "2026-13-01"
      refuses(doc, '$.service.date: "2026-13-01" is not a calendar date YYYY-MM-DD')
      doc.service.date = "2026-11-20T09:00:00Z"
      refuses(doc, '$.service.date: "2026-11-20T09:00:00Z" is not a calendar date YYYY-MM-DD')
      doc.service.date = "2027-02-29"
      refuses(doc, '$.service.date: "2027-02-29" is not a calendar date YYYY-MM-DD')
    end)

    it("a service without a status", function()
      doc.service.status = ""
      refuses(doc, '$.service.status: expected a non-empty string, got the string ""')
    end)

    it("a patient without an MRN or a name", function()
      doc.patient.mrn = json.null
      refuses(doc, "$.patient.mrn: expected a non-empty string, got null")
      doc.patient.mrn = "MRN-0047711"
      doc.patient.given_name = nil
      refuses(doc, "$.patient.given_name: expected a non-empty string, got missing")
      doc.patient = nil
      refuses(doc, "$.patient: expected an object, got missing")
    end)

    it("an e-mail that is not a string", function()
      doc.patient.email = { "m.okafor@example.org" }
      refuses(doc, "$.patient.email: expected a non-empty string, got an array")
    end)

    it("a payer without its member id", function()
      doc.payer.member_id = nil
      refuses(doc, "$.payer.member_id: expected a non-empty string, got missing")
      doc.payer = "payer-acme"
      refuses(doc, '$.payer: expected an object, got the string "payer-acme"')
    end)

    it("missing, empty or ill-typed lines, naming the line", function()
      doc.lines[2].quantity = "1"
      refuses(doc, '$.lines[2].quantity: expected a number, got the string "1"')
      doc.lines[2].quantity = 1
      doc.lines[3].unit_price = nil
      refuses(doc, "$.lines[3].unit_price: expected a number, got missing")
      doc.lines[3] = "85025"
      refuses(doc, '$.lines[3]: expected an object, got the string "85025"')
      doc.lines[1].code = 99213
      refuses(doc, "$.lines[1].code: expected a non-empty string, got a number (99213)")
      doc.lines = json.array({})
      refuses(doc, "$.lines: expected a non-empty array, got an empty array")
      doc.lines = nil
      refuses(doc, "$.lines: expected a non-empty array, got missing")
    end)

    it("a currency that is not an ISO 4217 code", function()
      doc.currency = "US$"
      refuses(doc, '$.currency: "US$" is not an ISO 4217 currency code like USD')
      doc.currency = nil
      refuses(doc, "$.currency: expected a non-empty string, got missing")
    end)
  end)
end)
