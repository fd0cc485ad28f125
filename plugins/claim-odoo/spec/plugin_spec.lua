local plugin = require("plugin")
local json = require("json")

local BANK = { lookup = { model = "account.journal", domain = { { "code", "=", "BNK1" } } } }

describe("claim-odoo", function()
  local submitted, adjudicated, remit2

  before_each(function()
    submitted = fixture_json("fixtures/claim.submitted.json")
    adjudicated = fixture_json("fixtures/claim.adjudicated.json") -- remittance-835's event for svc-1001
    remit2 = fixture_json("fixtures/claim.adjudicated-remit2.json") -- reversal, correction, denial, secondary
  end)

  context("claim.submitted", function()
    it("marks the service's invoice submitted and records the claim", function()
      assert.are.same({
        operations = {
          {
            op = "update",
            model = "account.move",
            key = "conflux.service_svc-1001",
            values = { x_claim_status = "submitted", x_claim_ref = "CLM-2026-000417" },
            ledger = { claim = "CLM-2026-000417", service_id = "svc-1001", status = "submitted" },
          },
        },
      }, plugin.map(submitted, {}))
    end)

    it("needs the claim, its id and its service id", function()
      local cases = {
        { function(e) e.claim = nil end, "$.claim: expected an object, found nothing" },
        { function(e) e.claim = json.array({}) end, "$.claim: expected an object, found an array" },
        { function(e) e.claim.id = nil end, "$.claim.id: missing" },
        { function(e) e.claim.id = 417 end, "$.claim.id: expected a string, found a number (417)" },
        { function(e) e.claim.service_id = json.null end, "$.claim.service_id: missing" },
        { function(e) e.claim.service_id = "svc 1001" end,
          "$.claim.service_id: \"svc 1001\" cannot be part of an Odoo external id (letters, digits, '_', '-' and '.')" },
      }
      for _, case in ipairs(cases) do
        local event = fixture_json("fixtures/claim.submitted.json")
        case[1](event)
        assert.has_error(function() plugin.map(event, {}) end, case[2])
      end
    end)
  end)

  context("claim.adjudicated", function()
    it("updates the invoice, then registers the payer's payment", function()
      assert.are.same({
        operations = {
          {
            op = "update",
            model = "account.move",
            key = "conflux.service_svc-1001",
            values = { x_claim_status = "partial", x_payer_paid = 150.4, x_patient_responsibility = 25.0 },
            ledger = { claim = "svc-1001", service_id = "svc-1001", status = "partial", paid = 150.4, patient_responsibility = 25.0 },
          },
          {
            op = "register_payment",
            key = "conflux.remit_EFT20261205A1_svc-1001",
            invoice = { xmlid = "conflux.service_svc-1001" },
            amount = 150.4,
            date = "2026-12-05",
            memo = "835 EFT20261205A1 svc-1001",
            journal = BANK,
            ledger = { remittance = "EFT20261205A1", claim = "svc-1001", service_id = "svc-1001", amount = 150.4, payer = "HARBOR MUTUAL HEALTH" },
          },
        },
      }, plugin.map(adjudicated, {}))
    end)

    it("sends amounts as numbers the connector takes", function()
      local encoded = json.encode(plugin.map(adjudicated, {}))
      assert.matches('"amount":150%.4,', encoded)
      assert.matches('"x_payer_paid":150%.4}', encoded)
      assert.matches('"x_patient_responsibility":25%.0,', encoded)
      assert.matches('^{"operations":%[{', encoded)
    end)

    it("sends only financial fields: no procedure codes, adjustment reasons or clinical detail", function()
      local encoded = json.encode(plugin.map(adjudicated, {}))
      for _, kept in ipairs({ "99213", "36415", "85025", "lines", "adjustments", "HM2026120500017", "NORTHSIDE", "1234567893" }) do
        assert.is_nil(encoded:find(kept, 1, true), "sent " .. kept)
      end
      local fhir = fixture_json("fixtures/claim.adjudicated-fhir.json")
      assert.is_nil(json.encode(plugin.map(fhir, {})):find("Claim settled", 1, true), "sent the disposition text")
    end)

    it("books a reversal's status but registers no payment", function()
      local operations = plugin.map(remit2[1], {}).operations
      assert.are.equal(1, #operations)
      assert.are.same({ x_claim_status = "reversed", x_payer_paid = -171.0, x_patient_responsibility = 0.0 }, operations[1].values)
      assert.are.equal("conflux.service_svc-1002", operations[1].key)
    end)

    it("registers no payment for a reversal whatever the sign of its amount", function()
      adjudicated.claim.status = "reversed"
      local operations = plugin.map(adjudicated, {}).operations
      assert.are.equal(1, #operations)
      assert.are.equal("reversed", operations[1].values.x_claim_status)
      assert.are.equal(150.4, operations[1].values.x_payer_paid)
    end)

    it("pays the corrected claim that follows a reversal", function()
      local operations = plugin.map(remit2[2], {}).operations
      assert.are.equal(2, #operations)
      assert.are.equal("conflux.remit_CHK40017_svc-1002", operations[2].key)
      assert.are.equal(136.8, operations[2].amount)
      assert.are.equal("2026-12-12", operations[2].date)
      assert.are.equal("835 CHK40017 svc-1002", operations[2].memo)
    end)

    it("books a denial without a payment", function()
      local operations = plugin.map(remit2[3], {}).operations
      assert.are.same({
        {
          op = "update",
          model = "account.move",
          key = "conflux.service_svc-1003",
          values = { x_claim_status = "denied", x_payer_paid = 0.0, x_patient_responsibility = 0.0 },
          ledger = { claim = "svc-1003", service_id = "svc-1003", status = "denied", paid = 0.0, patient_responsibility = 0.0 },
        },
      }, operations)
    end)

    it("registers nothing when a partial adjudication paid nothing", function()
      adjudicated.claim.paid = 0
      adjudicated.claim.status = "partial"
      adjudicated.claim.payment = nil
      assert.are.equal(1, #plugin.map(adjudicated, {}).operations)
    end)

    it("needs no payment details when nothing is paid", function()
      local event = remit2[3]
      event.claim.payment = nil
      event.claim.payer = nil
      assert.are.equal(1, #plugin.map(event, {}).operations)
    end)

    it("takes a paid-in-full adjudication from a FHIR ClaimResponse (ehr-events) the same way", function()
      local operations = plugin.map(fixture_json("fixtures/claim.adjudicated-fhir.json"), {}).operations
      assert.are.same({ x_claim_status = "paid", x_payer_paid = 171.0, x_patient_responsibility = 0.0 }, operations[1].values)
      assert.are.equal("conflux.remit_EFT20261205A1_svc-1002", operations[2].key)
      assert.are.equal(171.0, operations[2].amount)
    end)

    it("takes ids with dots (FHIR ids may have them; the odoo connector's keys allow them)", function()
      adjudicated.claim.id = "clm.2026.417"
      adjudicated.claim.service_id = "enc.88231"
      local operations = plugin.map(adjudicated, {}).operations
      assert.are.equal("conflux.service_enc.88231", operations[1].key)
      assert.are.equal("conflux.remit_EFT20261205A1_clm.2026.417", operations[2].key)
    end)

    it("keys the payment by trace and claim, so a redelivery registers it once", function()
      local first = plugin.map(adjudicated, {}).operations[2].key
      adjudicated.idempotency_key = "something else"
      assert.are.equal(first, plugin.map(adjudicated, {}).operations[2].key)
      adjudicated.claim.payment.trace = "EFT20261219B7"
      assert.are.equal("conflux.remit_EFT20261219B7_svc-1001", plugin.map(adjudicated, {}).operations[2].key)
    end)

    it("takes a missing patient responsibility as zero and leaves out an unnamed payer", function()
      adjudicated.claim.patient_responsibility = nil
      adjudicated.claim.payer = { claim_control = "HM2026120500017" }
      local operations = plugin.map(adjudicated, {}).operations
      assert.are.equal(0.0, operations[1].values.x_patient_responsibility)
      assert.is_nil(operations[2].ledger.payer)
    end)

    it("names every missing or ill-typed field", function()
      local cases = {
        { function(c) c.id = nil end, "$.claim.id: missing" },
        { function(c) c.service_id = 1001 end, "$.claim.service_id: expected a string, found a number (1001)" },
        { function(c) c.status = nil end, "$.claim.status: missing" },
        { function(c) c.status = "approved" end, '$.claim.status: "approved" is not paid, partial, denied or reversed' },
        { function(c) c.paid = nil end, "$.claim.paid: missing" },
        { function(c) c.paid = "150.40" end, '$.claim.paid: expected an amount (a number), found a string ("150.40")' },
        { function(c) c.paid = 150.405 end, "$.claim.paid: 150.405 is not a whole number of cents" },
        { function(c) c.paid = 1e300 end, "$.claim.paid: 1e+300 is not an amount" },
        { function(c) c.patient_responsibility = "25" end,
          '$.claim.patient_responsibility: expected an amount (a number), found a string ("25")' },
        { function(c) c.patient_responsibility = 0.001 end, "$.claim.patient_responsibility: 0.001 is not a whole number of cents" },
        { function(c) c.payer = "HARBOR" end, '$.claim.payer: expected an object, found a string ("HARBOR")' },
        { function(c) c.payer.name = 5 end, "$.claim.payer.name: expected a string, found a number (5)" },
        { function(c) c.payment = nil end,
          "$.claim.payment: missing (the payer paid 150.40; its date and trace are needed to book it)" },
        { function(c) c.payment = json.array({}) end, "$.claim.payment: expected an object, found an array" },
        { function(c) c.payment.trace = nil end, "$.claim.payment.trace: missing" },
        { function(c) c.payment.trace = "CHK 4001" end,
          "$.claim.payment.trace: \"CHK 4001\" cannot be part of an Odoo external id (letters, digits, '_', '-' and '.')" },
        { function(c) c.payment.date = "20261205" end, '$.claim.payment.date: "20261205" is not a date (YYYY-MM-DD)' },
        { function(c) c.payment.date = "2026-13-01" end, '$.claim.payment.date: "2026-13-01" is not a date (YYYY-MM-DD)' },
        { function(c) c.payment.date = nil end, "$.claim.payment.date: missing" },
        { function(c) c.id = "CLM/417" end,
          "$.claim.id: \"CLM/417\" cannot be part of an Odoo external id (letters, digits, '_', '-' and '.')" },
      }
      for _, case in ipairs(cases) do
        local event = fixture_json("fixtures/claim.adjudicated.json")
        case[1](event.claim)
        assert.has_error(function() plugin.map(event, {}) end, case[2])
      end
    end)

    it("needs the claim object", function()
      adjudicated.claim = "svc-1001"
      assert.has_error(function() plugin.map(adjudicated, {}) end, '$.claim: expected an object, found a string ("svc-1001")')
    end)
  end)

  context("other events", function()
    it("are refused, naming what this mapping takes", function()
      submitted.type = "claim.acknowledged"
      assert.has_error(function() plugin.map(submitted, {}) end,
        "$.type: claim-odoo maps claim.submitted and claim.adjudicated, not claim.acknowledged")
    end)

    it("need a type", function()
      submitted.type = false
      assert.has_error(function() plugin.map(submitted, {}) end, "$.type: expected a string, found a boolean")
      assert.has_error(function() plugin.map("claim.submitted", {}) end, '$: expected an object, found a string ("claim.submitted")')
    end)
  end)
end)
