local plugin = require("plugin")
local json = require("json")

-- Decodes an event table the way the host hands it over: as the JSON text of the webhook body.
local function decode(event) return plugin.decode(json.encode(event), {}) end

describe("payments-webhook", function()
  local succeeded, refunded

  before_each(function()
    succeeded = fixture_json("fixtures/payment_intent.succeeded.json")
    refunded = fixture_json("fixtures/charge.refunded.json")
  end)

  context("payment_intent.succeeded", function()
    it("becomes one payment.received event keyed by the gateway's event id", function()
      local events = plugin.decode(fixture("fixtures/payment_intent.succeeded.json"), {})
      assert.are.same({
        {
          type = "payment.received",
          idempotency_key = "evt_3QnB7xK2Lm9PqR4s1aB2cD3e",
          payment = {
            id = "pi_3QnB7xK2Lm9PqR4s0kYh8ZtW",
            amount_cents = 12500,
            currency = "USD",
            service_id = "svc-1001",
            date = "2026-11-21",
            charge = "ch_3QnB7xK2Lm9PqR4s0Vb5NmQa",
          },
        },
      }, events)
    end)

    it("keeps the amount an integer number of cents and encodes the events as a JSON list", function()
      local events = decode(succeeded)
      assert.are.equal("integer", math.type(events[1].payment.amount_cents))
      assert.matches('^%[{"idempotency_key":"evt_', json.encode(events))
    end)

    it("books what was received, not what was asked for", function()
      succeeded.data.object.amount = 15000
      succeeded.data.object.amount_received = 12500
      assert.are.equal(12500, decode(succeeded)[1].payment.amount_cents)
    end)

    it("dates the payment from the event's created time in UTC", function()
      succeeded.created = 1795305570 + 30 -- 2026-11-22T00:00:00Z
      assert.are.equal("2026-11-22", decode(succeeded)[1].payment.date)
      succeeded.created = 0
      assert.are.equal("1970-01-01", decode(succeeded)[1].payment.date)
    end)

    it("takes the charge id from an expanded latest_charge", function()
      succeeded.data.object.latest_charge = { id = "ch_expanded1", object = "charge" }
      assert.are.equal("ch_expanded1", decode(succeeded)[1].payment.charge)
    end)

    it("upper-cases the currency and passes other currencies on for the mapping to judge", function()
      succeeded.data.object.currency = "eur"
      assert.are.equal("EUR", decode(succeeded)[1].payment.currency)
    end)

    it("does not pass on the payer's e-mail, customer or card details", function()
      local encoded = json.encode(decode(succeeded))
      for _, leaked in ipairs({ "m.okafor@example.org", "cus_Qn7ZrT0aB1cD2e", "pm_1QnB7wK2Lm9PqR4sXy2Ab3Cd", "CLN-NORTH" }) do
        assert.is_nil(encoded:find(leaked, 1, true), "leaked " .. leaked)
      end
    end)

    it("rejects a payload that is not a payment intent", function()
      succeeded.data.object.object = "charge"
      assert.has_error(function() decode(succeeded) end, '$.data.object.object: expected "payment_intent", found a string ("charge")')
      succeeded.data.object.object = nil
      assert.has_error(function() decode(succeeded) end, '$.data.object.object: expected "payment_intent", found nothing')
    end)

    it("rejects a missing or malformed payment intent id", function()
      succeeded.data.object.id = nil
      assert.has_error(function() decode(succeeded) end, "$.data.object.id: missing")
      succeeded.data.object.id = 42
      assert.has_error(function() decode(succeeded) end, "$.data.object.id: expected a string, found a number (42)")
      succeeded.data.object.id = "pi 1"
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.id: \"pi 1\" is not an id (letters, digits, '_', '-' and '.', starting with a letter or digit)")
      succeeded.data.object.id = ""
      assert.has_error(function() decode(succeeded) end, "$.data.object.id: must not be empty")
    end)

    it("rejects amounts that are not integer cents", function()
      succeeded.data.object.amount_received = 125.5
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.amount_received: expected an integer amount in minor units (cents), found a float (125.5)")
      succeeded.data.object.amount_received = 12500.0
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.amount_received: expected an integer amount in minor units (cents), found a float (12500.0)")
      succeeded.data.object.amount_received = "12500"
      assert.has_error(function() decode(succeeded) end,
        '$.data.object.amount_received: expected an integer amount in minor units (cents), found a string ("12500")')
      succeeded.data.object.amount_received = json.null
      assert.has_error(function() decode(succeeded) end, "$.data.object.amount_received: missing")
    end)

    it("rejects a zero or negative amount received", function()
      succeeded.data.object.amount_received = 0
      assert.has_error(function() decode(succeeded) end, "$.data.object.amount_received: amount 0 must be positive")
      succeeded.data.object.amount_received = -100
      assert.has_error(function() decode(succeeded) end, "$.data.object.amount_received: amount -100 must be positive")
    end)

    it("checks the requested amount too", function()
      succeeded.data.object.amount = nil
      assert.has_error(function() decode(succeeded) end, "$.data.object.amount: missing")
      succeeded.data.object.amount = 1.25
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.amount: expected an integer amount in minor units (cents), found a float (1.25)")
    end)

    it("rejects a missing or malformed currency", function()
      succeeded.data.object.currency = nil
      assert.has_error(function() decode(succeeded) end, "$.data.object.currency: missing")
      succeeded.data.object.currency = "US$"
      assert.has_error(function() decode(succeeded) end, '$.data.object.currency: "US$" is not an ISO 4217 currency code')
    end)

    it("needs the service id in the metadata", function()
      succeeded.data.object.metadata.service_id = nil
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.metadata.service_id: missing (the checkout must put the service id in the metadata)")
      succeeded.data.object.metadata = nil
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.metadata.service_id: missing (the checkout must put the service id in the metadata)")
      succeeded.data.object.metadata = json.array({ "svc-1001" })
      assert.has_error(function() decode(succeeded) end, "$.data.object.metadata: expected an object, found an array")
    end)

    it("rejects a service id that cannot name an invoice", function()
      succeeded.data.object.metadata.service_id = 1001
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.metadata.service_id: expected a string, found a number (1001)")
      succeeded.data.object.metadata.service_id = "svc:1001"
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.metadata.service_id: \"svc:1001\" is not an id (letters, digits, '_', '-' and '.', starting with a letter or digit)")
    end)

    it("needs the charge", function()
      succeeded.data.object.latest_charge = json.null
      assert.has_error(function() decode(succeeded) end,
        "$.data.object.latest_charge: missing (a succeeded payment intent has a charge)")
      succeeded.data.object.latest_charge = { object = "charge" }
      assert.has_error(function() decode(succeeded) end, "$.data.object.latest_charge.id: missing")
      succeeded.data.object.latest_charge = true
      assert.has_error(function() decode(succeeded) end, "$.data.object.latest_charge: expected a string, found a boolean")
    end)
  end)

  context("charge.refunded", function()
    it("becomes one payment.refunded event keyed by the gateway's event id", function()
      local events = plugin.decode(fixture("fixtures/charge.refunded.json"), {})
      assert.are.same({
        {
          type = "payment.refunded",
          idempotency_key = "evt_3QoC1aK2Lm9PqR4s2fG7hJ8k",
          refund = {
            charge = "ch_3QnB7xK2Lm9PqR4s0Vb5NmQa",
            payment_intent = "pi_3QnB7xK2Lm9PqR4s0kYh8ZtW",
            refunded_total_cents = 4000,
            currency = "USD",
            service_id = "svc-1001",
            date = "2026-11-24",
            refunds = { { id = "re_3QoC1aK2Lm9PqR4s0Hk2Lp9x", amount_cents = 4000 } },
          },
        },
      }, events)
    end)

    it("does not pass on the cardholder's name or contact details", function()
      local encoded = json.encode(decode(refunded))
      for _, leaked in ipairs({ "Maria Okafor", "m.okafor@example.org", "requested_by_customer" }) do
        assert.is_nil(encoded:find(leaked, 1, true), "leaked " .. leaked)
      end
    end)

    it("works without the refunds list (newer API versions do not expand it)", function()
      refunded.data.object.refunds = nil
      local refund = decode(refunded)[1].refund
      assert.is_nil(refund.refunds)
      assert.are.equal(4000, refund.refunded_total_cents)
    end)

    it("takes the payment intent id from an expanded payment_intent", function()
      refunded.data.object.payment_intent = { id = "pi_expanded2", object = "payment_intent" }
      assert.are.equal("pi_expanded2", decode(refunded)[1].refund.payment_intent)
    end)

    it("rejects a payload that is not a charge", function()
      refunded.data.object.object = "refund"
      assert.has_error(function() decode(refunded) end, '$.data.object.object: expected "charge", found a string ("refund")')
    end)

    it("rejects a missing charge id", function()
      refunded.data.object.id = json.null
      assert.has_error(function() decode(refunded) end, "$.data.object.id: missing")
    end)

    it("rejects a refunded amount that is not positive integer cents", function()
      refunded.data.object.amount_refunded = 40.0
      assert.has_error(function() decode(refunded) end,
        "$.data.object.amount_refunded: expected an integer amount in minor units (cents), found a float (40.0)")
      refunded.data.object.amount_refunded = 0
      assert.has_error(function() decode(refunded) end, "$.data.object.amount_refunded: amount 0 must be positive")
      refunded.data.object.amount_refunded = nil
      assert.has_error(function() decode(refunded) end, "$.data.object.amount_refunded: missing")
    end)

    it("rejects refunding more than the charge", function()
      refunded.data.object.amount_refunded = 12501
      assert.has_error(function() decode(refunded) end,
        "$.data.object.amount_refunded: 12501 is more than the charge's amount 12500")
      refunded.data.object.amount = "12500"
      assert.has_error(function() decode(refunded) end,
        '$.data.object.amount: expected an integer amount in minor units (cents), found a string ("12500")')
    end)

    it("needs the payment intent", function()
      refunded.data.object.payment_intent = json.null
      assert.has_error(function() decode(refunded) end,
        "$.data.object.payment_intent: missing (only charges of a payment intent are booked)")
      refunded.data.object.payment_intent = 7
      assert.has_error(function() decode(refunded) end, "$.data.object.payment_intent: expected a string, found a number (7)")
    end)

    it("needs the currency and the service id", function()
      refunded.data.object.currency = 840
      assert.has_error(function() decode(refunded) end, "$.data.object.currency: expected a string, found a number (840)")
      refunded.data.object.currency = "usd"
      refunded.data.object.metadata = {}
      assert.has_error(function() decode(refunded) end,
        "$.data.object.metadata.service_id: missing (the checkout must put the service id in the metadata)")
    end)

    it("names a malformed refund in the list", function()
      refunded.data.object.refunds.data[1].amount = "40"
      assert.has_error(function() decode(refunded) end,
        '$.data.object.refunds.data[0].amount: expected an integer amount in minor units (cents), found a string ("40")')
      refunded.data.object.refunds.data[1].amount = 4000
      refunded.data.object.refunds.data[1].id = nil
      assert.has_error(function() decode(refunded) end, "$.data.object.refunds.data[0].id: missing")
      refunded.data.object.refunds.data = { id = "re_1" }
      assert.has_error(function() decode(refunded) end,
        "$.data.object.refunds.data: expected an array of refunds, found an object")
      refunded.data.object.refunds = "re_1"
      assert.has_error(function() decode(refunded) end, '$.data.object.refunds: expected an object, found a string ("re_1")')
    end)
  end)

  context("other event types", function()
    it("are acknowledged with an empty list", function()
      local events = plugin.decode(fixture("fixtures/customer.updated.json"), {})
      assert.are.equal("[]", json.encode(events))
    end)

    it("are ignored without checking their content", function()
      assert.are.equal("[]", json.encode(plugin.decode('{"type":"payment_intent.created"}', {})))
      assert.are.equal("[]", json.encode(plugin.decode('{"type":"charge.refund.updated","data":[]}', {})))
    end)
  end)

  context("the envelope", function()
    it("rejects an empty payload", function()
      assert.has_error(function() plugin.decode("", {}) end, "$: empty payload: expected a webhook event (JSON)")
    end)

    it("rejects text that is not JSON, saying where", function()
      assert.error_matches(function() plugin.decode("type=charge.refunded", {}) end, "^%$: not JSON: .*byte 1")
      assert.error_matches(function() plugin.decode('{"type":"charge.refunded",}', {}) end, "^%$: not JSON: ")
    end)

    it("rejects JSON that is not an object", function()
      assert.has_error(function() plugin.decode("[1,2]", {}) end, "$: expected an object, found an array")
      assert.has_error(function() plugin.decode('"evt_1"', {}) end, '$: expected an object, found a string ("evt_1")')
    end)

    it("needs the event type", function()
      succeeded.type = nil
      assert.has_error(function() decode(succeeded) end, "$.type: missing")
      succeeded.type = { "payment_intent.succeeded" }
      assert.has_error(function() decode(succeeded) end, "$.type: expected a string, found an array")
    end)

    it("needs the event id, the idempotency key", function()
      succeeded.id = nil
      assert.has_error(function() decode(succeeded) end, "$.id: missing")
      refunded.id = 17
      assert.has_error(function() decode(refunded) end, "$.id: expected a string, found a number (17)")
    end)

    it("needs created as integer epoch seconds", function()
      succeeded.created = nil
      assert.has_error(function() decode(succeeded) end, "$.created: missing")
      succeeded.created = "2026-11-21T23:59:30Z"
      assert.has_error(function() decode(succeeded) end,
        '$.created: expected epoch seconds (an integer), found a string ("2026-11-21T23:59:30Z")')
      succeeded.created = 1795305570.5
      assert.has_error(function() decode(succeeded) end, "$.created: expected epoch seconds (an integer), found a float (1795305570.5)")
      succeeded.created = -1
      assert.has_error(function() decode(succeeded) end, "$.created: -1 is before 1970")
    end)

    it("needs data.object", function()
      succeeded.data = nil
      assert.has_error(function() decode(succeeded) end, "$.data: expected an object, found nothing")
      succeeded.data = { object = json.array({}) }
      assert.has_error(function() decode(succeeded) end, "$.data.object: expected an object, found an array")
      refunded.data.object = json.null
      assert.has_error(function() decode(refunded) end, "$.data.object: expected an object, found null")
    end)
  end)
end)
