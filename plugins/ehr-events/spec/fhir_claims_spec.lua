local plugin = require("plugin")
local json = require("json")

local function decode(value) return plugin.decode(json.encode(value), {}) end
local function one(value)
  local events = decode(value)
  assert.are.equal(1, #events)
  return events[1]
end
local function refuses(value, message)
  assert.has_error(function() decode(value) end, message)
end

describe("ehr-events: a FHIR Claim", function()
  local claim

  before_each(function()
    claim = fixture_json("fixtures/fhir/Claim-MED-00050.json")
  end)

  it("becomes claim.submitted (the published example MED-00050)", function()
    assert.are.same({
      {
        type = "claim.submitted",
        id = "MED-00050",
        idempotency_key = "claim.submitted:MED-00050",
        claim = {
          id = "MED-00050",
          service_id = "MED-00050",
          payer = { id = "123456", name = "Humana Inc." },
          total = 12500.0,
          currency = "USD",
          created = "2015-10-16",
        },
      },
    }, plugin.decode(fixture("fixtures/fhir/Claim-MED-00050.json"), {}))
  end)

  it("carries nothing clinical from the claim", function()
    local encoded = json.encode(decode(claim))
    for _, dropped in ipairs({ "Ashcraft", "1954-06-11", "M96.1", "62264", "Portland" }) do
      assert.is_nil(encoded:find(dropped, 1, true), "kept " .. dropped)
    end
  end)

  it("takes the service id from the items' encounter reference", function()
    claim.item[1].encounter = { { reference = "Encounter/svc-1001" } }
    assert.are.equal("svc-1001", one(claim).claim.service_id)
    claim.item[1].encounter = { { identifier = { value = "svc-1002" } } }
    assert.are.equal("svc-1002", one(claim).claim.service_id)
  end)

  it("uses the resource id when the claim has no identifier", function()
    claim.identifier = nil
    claim.id = "claim-88"
    local event = one(claim)
    assert.are.equal("claim-88", event.claim.id)
    assert.are.equal("claim.submitted:claim-88", event.idempotency_key)
  end)

  it("takes the payer from the focal contained Coverage when there is no insurer", function()
    claim.insurer = nil
    assert.are.same({ id = "123456", name = "Humana Inc." }, one(claim).claim.payer)
  end)

  describe("refuses", function()
    it("items of two different encounters", function()
      claim.item[2] = json.decode(json.encode(claim.item[1]))
      claim.item[2].net.value, claim.total.value = 0.0, 12500.0
      claim.item[1].encounter = { { reference = "Encounter/svc-1001" } }
      claim.item[2].encounter = { { reference = "Encounter/svc-1002" } }
      refuses(claim, "$.item[2].encounter[1]: Encounter svc-1002, but $.item[1].encounter[1] names Encounter svc-1001; one claim bills one service")
    end)

    it("an encounter reference naming nothing", function()
      claim.item[1].encounter = { { display = "the visit" } }
      refuses(claim, "$.item[1].encounter[1]: expected a reference or an identifier of the Encounter")
    end)

    it("a total that is not the sum of the items", function()
      claim.total.value = 12000.0
      refuses(claim, "$.total.value: 12000.0, but the items' net amounts sum to 12500.0")
    end)

    it("a missing or ill-typed total", function()
      claim.total.value = "12500.00"
      refuses(claim, '$.total.value: expected a number, got the string "12500.00"')
      claim.total = nil
      refuses(claim, "$.total: expected an object, got missing")
    end)

    it("a claim that is not active, or not a claim", function()
      claim.use = "preauthorization"
      refuses(claim, '$.use: "preauthorization" is not a claim (preauthorizations and predeterminations are not billed)')
      claim.use = "claim"
      claim.status = "cancelled"
      refuses(claim, '$.status: the Claim is "cancelled", not active')
    end)

    it("a claim without items", function()
      claim.item = nil
      refuses(claim, "$.item: expected a non-empty array, got missing")
    end)

    it("a claim that names no payer", function()
      claim.insurer = nil
      claim.insurance[1].focal = false
      refuses(claim, "$.insurer: missing, and no focal insurance names the payer")
      claim.insurance[1].focal = true
      claim.insurance[1].coverage.reference = "Coverage/9876"
      refuses(claim, "$.insurance[1].coverage: the focal coverage is not a contained Coverage, and the Claim has no insurer")
    end)

    it("a claim without identifier and id", function()
      claim.identifier, claim.id = nil, nil
      refuses(claim, "$.id: expected a non-empty string, got missing")
    end)
  end)
end)

describe("ehr-events: a FHIR ClaimResponse", function()
  local response

  before_each(function()
    response = fixture_json("fixtures/fhir-claimresponse.json")
  end)

  local function total(category, value)
    for _, entry in ipairs(response.total) do
      if entry.category.coding[1].code == category then entry.amount.value = value; return end
    end
    response.total[#response.total + 1] = { category = { coding = { { code = category } } }, amount = { value = value, currency = "USD" } }
  end

  it("becomes claim.adjudicated, paid when the payment covers the benefit", function()
    assert.are.same({
      {
        type = "claim.adjudicated",
        id = "cr-7781402",
        idempotency_key = "claim.adjudicated:svc-2002:cr-7781402",
        claim = {
          id = "svc-2002",
          service_id = "svc-2002",
          status = "paid",
          charged = 244.5,
          paid = 168.2,
          patient_responsibility = 25.0,
          payer = { id = "payer-acme", name = "Acme Health" },
          payment = { date = "2026-12-04", trace = "EFT-20261204-000917" },
          disposition = "Claim settled as per contract.",
        },
      },
    }, plugin.decode(fixture("fixtures/fhir-claimresponse.json"), {}))
  end)

  it("is partial when the payment is less than the benefit", function()
    response.payment.amount.value = 100.0
    local claim = one(response).claim
    assert.are.equal("partial", claim.status)
    assert.are.equal(100.0, claim.paid)
  end)

  it("is partial when the payer says so", function()
    response.outcome = "partial"
    assert.are.equal("partial", one(response).claim.status)
  end)

  it("is partial when nothing is paid but the deductible falls to the patient", function()
    response.payment = nil
    total("copay", 0.0)
    total("deductible", 193.2)
    total("benefit", 0.0)
    local claim = one(response).claim
    assert.are.same({ "partial", 0.0, 193.2 }, { claim.status, claim.paid, claim.patient_responsibility })
    assert.is_nil(claim.payment)
  end)

  it("is denied when nothing is paid and nothing falls to the patient", function()
    response.payment = nil
    total("copay", 0.0)
    local claim = one(response).claim
    assert.are.same({ "denied", 0.0, 0.0, 244.5 }, { claim.status, claim.paid, claim.patient_responsibility, claim.charged })
  end)

  it("is denied when the payer could not adjudicate it (outcome error)", function()
    response.outcome = "error"
    response.payment, response.total, response.item = nil, nil, nil
    response.error = { { code = { coding = { { code = "a002" } } } } }
    local claim = one(response).claim
    assert.are.same({ "denied", 0.0, 0.0 }, { claim.status, claim.paid, claim.patient_responsibility })
    assert.is_nil(claim.charged)
  end)

  it("is paid without a benefit total when the claim completed with a payment", function()
    table.remove(response.total, 4)
    for _, item in ipairs(response.item) do
      for i = #item.adjudication, 1, -1 do
        if item.adjudication[i].category.coding[1].code == "benefit" then table.remove(item.adjudication, i) end
      end
    end
    assert.are.equal("paid", one(response).claim.status)
  end)

  it("sums the items' adjudications when there is no total", function()
    response.total = nil
    local claim = one(response).claim
    assert.are.same({ 244.5, 25.0, "paid" }, { claim.charged, claim.patient_responsibility, claim.status })
  end)

  it("names the claim by the request's reference when it has no identifier", function()
    response.request = { reference = "Claim/svc-2002" }
    assert.are.equal("svc-2002", one(response).claim.id)
  end)

  it("needs no trace for a payment of nothing", function()
    response.payment.identifier = nil
    response.payment.amount.value = 0.0
    local claim = one(response).claim
    assert.are.same({ date = "2026-12-04" }, claim.payment)
    assert.are.equal("partial", claim.status)
  end)

  it("gives no event while the claim is queued, as an empty JSON list", function()
    response.outcome = "queued"
    local events = decode(response)
    assert.are.equal(0, #events)
    assert.are.equal("[]", json.encode(events))
  end)

  it("keys each adjudication of a claim apart", function()
    response.id = "cr-7781999"
    assert.are.equal("claim.adjudicated:svc-2002:cr-7781999", one(response).idempotency_key)
    response.id = nil
    assert.are.equal("claim.adjudicated:svc-2002:ACM-CR-7781402", one(response).idempotency_key)
  end)

  describe("refuses", function()
    it("an unknown outcome", function()
      response.outcome = "done"
      refuses(response, '$.outcome: "done" is not one of queued, complete, error, partial')
      response.outcome = nil
      refuses(response, "$.outcome: expected a non-empty string, got missing")
    end)

    it("a response that is not active, or not for a claim", function()
      response.use = "preauthorization"
      refuses(response, '$.use: "preauthorization" is not an adjudication of a claim')
      response.use = nil
      response.status = "entered-in-error"
      refuses(response, '$.status: the ClaimResponse is "entered-in-error", not active')
    end)

    it("a response without a request", function()
      response.request = nil
      refuses(response, "$.request: expected an object, got missing")
      response.request = { display = "our claim" }
      refuses(response, "$.request: expected a reference or an identifier of the Claim")
    end)

    it("a response that cannot be told apart", function()
      response.id, response.identifier = nil, nil
      refuses(response, "$.id: missing, and no identifier; needed to tell one adjudication from another")
    end)

    it("a response with no charged amount", function()
      response.total = nil
      for _, item in ipairs(response.item) do
        for i = #item.adjudication, 1, -1 do
          if item.adjudication[i].category.coding[1].code == "submitted" then table.remove(item.adjudication, i) end
        end
      end
      refuses(response, "$.total: no 'submitted' amount in total[] or in the items' adjudication[]; the charged amount is unknown")
    end)

    it("an adjudication without a category code", function()
      response.total[2].category = { text = "eligible" }
      refuses(response, "$.total[2].category: expected a coding with a code")
    end)

    it("an ill-typed amount", function()
      response.total[1].amount.value = "244.50"
      refuses(response, '$.total[1].amount.value: expected a number, got the string "244.50"')
      response.total = nil
      response.item[2].adjudication[1].amount.value = 64.505
      refuses(response, "$.item[2].adjudication[1].amount.value: 64.505 is not a whole number of cents")
    end)

    it("money paid without its trace number", function()
      response.payment.identifier = nil
      refuses(response, "$.payment.identifier: missing; a payment needs its trace number (EFT or check) to be booked")
    end)

    it("a payment without a date or amount", function()
      response.payment.date = "2026-12-4"
      refuses(response, '$.payment.date: "2026-12-4" is not a calendar date YYYY-MM-DD')
      response.payment.date = "2026-12-04"
      response.payment.amount = nil
      refuses(response, "$.payment.amount: expected an object, got missing")
    end)

    it("a response without an insurer", function()
      response.insurer = nil
      refuses(response, "$.insurer: expected an object, got missing")
      response.insurer = { type = "Organization" }
      refuses(response, "$.insurer: expected an identifier, a reference or a display naming the payer")
    end)
  end)
end)
