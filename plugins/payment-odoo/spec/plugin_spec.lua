local plugin = require("plugin")
local json = require("json")

describe("payment-odoo", function()
  local received, refunded

  before_each(function()
    received = fixture_json("fixtures/payment.received.json")
    refunded = fixture_json("fixtures/payment.refunded.json")
  end)

  context("payment.received", function()
    it("registers the payment on the service's invoice through the bank journal", function()
      assert.are.same({
        op = "register_payment",
        key = "conflux.payment_pi_3QnB7xK2Lm9PqR4s0kYh8ZtW",
        invoice = { xmlid = "conflux.service_svc-1001" },
        amount = 125.5,
        date = "2026-11-21",
        memo = "pi_3QnB7xK2Lm9PqR4s0kYh8ZtW",
        journal = { lookup = { model = "account.journal", domain = { { "code", "=", "BNK1" } } } },
        ledger = {
          payment = "pi_3QnB7xK2Lm9PqR4s0kYh8ZtW",
          service_id = "svc-1001",
          amount = 125.5,
          currency = "USD",
          charge = "ch_3QnB7xK2Lm9PqR4s0Vb5NmQa",
        },
      }, plugin.map(received, {}))
    end)

    it("sends exactly the operation the odoo connector takes", function()
      assert.are.equal(
        '{"amount":125.5,"date":"2026-11-21","invoice":{"xmlid":"conflux.service_svc-1001"},'
          .. '"journal":{"lookup":{"domain":[["code","=","BNK1"]],"model":"account.journal"}},'
          .. '"key":"conflux.payment_pi_3QnB7xK2Lm9PqR4s0kYh8ZtW",'
          .. '"ledger":{"amount":125.5,"charge":"ch_3QnB7xK2Lm9PqR4s0Vb5NmQa","currency":"USD",'
          .. '"payment":"pi_3QnB7xK2Lm9PqR4s0kYh8ZtW","service_id":"svc-1001"},'
          .. '"memo":"pi_3QnB7xK2Lm9PqR4s0kYh8ZtW","op":"register_payment"}',
        json.encode(plugin.map(received, {})))
    end)

    it("divides cents once, into dollars", function()
      received.payment.amount_cents = 12500
      assert.are.equal('125.0', json.encode(plugin.map(received, {}).amount))
      received.payment.amount_cents = 1
      assert.are.equal(0.01, plugin.map(received, {}).amount)
      received.payment.amount_cents = 1999
      assert.are.equal(19.99, plugin.map(received, {}).amount)
    end)

    it("maps a redelivered event to the same external id, so Odoo registers it once", function()
      assert.are.equal(plugin.map(received, {}).key, plugin.map(received, {}).key)
      received.idempotency_key = "evt_other"
      assert.are.equal("conflux.payment_pi_3QnB7xK2Lm9PqR4s0kYh8ZtW", plugin.map(received, {}).key)
    end)

    it("works without the charge", function()
      received.payment.charge = nil
      local op = plugin.map(received, {})
      assert.is_nil(op.ledger.charge)
      assert.are.equal("register_payment", op.op)
    end)

    it("refuses currencies other than USD, saying the clinic books in USD", function()
      received.payment.currency = "EUR"
      assert.has_error(function() plugin.map(received, {}) end,
        "$.payment.currency: EUR: the clinic books in USD only; a payment in another currency needs a manual booking by finance")
      received.payment.currency = "usd"
      assert.error_matches(function() plugin.map(received, {}) end, "^%$%.payment%.currency: usd: the clinic books in USD only")
      received.payment.currency = nil
      assert.has_error(function() plugin.map(received, {}) end, "$.payment.currency: missing")
    end)

    it("needs the payment object", function()
      received.payment = nil
      assert.has_error(function() plugin.map(received, {}) end, "$.payment: expected an object, found nothing")
      received.payment = "pi_1"
      assert.has_error(function() plugin.map(received, {}) end, '$.payment: expected an object, found a string ("pi_1")')
    end)

    it("needs a payment id that can key the Odoo payment", function()
      received.payment.id = nil
      assert.has_error(function() plugin.map(received, {}) end, "$.payment.id: missing")
      received.payment.id = "pi 1"
      assert.has_error(function() plugin.map(received, {}) end,
        "$.payment.id: \"pi 1\" cannot be part of an Odoo external id (letters, digits, '_', '-' and '.')")
    end)

    it("needs positive integer cents", function()
      received.payment.amount_cents = 125.5
      assert.has_error(function() plugin.map(received, {}) end, "$.payment.amount_cents: expected integer cents, found a float (125.5)")
      received.payment.amount_cents = "12550"
      assert.has_error(function() plugin.map(received, {}) end,
        '$.payment.amount_cents: expected integer cents, found a string ("12550")')
      received.payment.amount_cents = 0
      assert.has_error(function() plugin.map(received, {}) end, "$.payment.amount_cents: 0 cents: the amount must be positive")
      received.payment.amount_cents = nil
      assert.has_error(function() plugin.map(received, {}) end, "$.payment.amount_cents: missing")
    end)

    it("needs the service id that names the invoice", function()
      received.payment.service_id = json.null
      assert.has_error(function() plugin.map(received, {}) end, "$.payment.service_id: missing")
      received.payment.service_id = "svc/1001"
      assert.has_error(function() plugin.map(received, {}) end,
        "$.payment.service_id: \"svc/1001\" cannot be part of an Odoo external id (letters, digits, '_', '-' and '.')")
    end)

    it("needs a real calendar date", function()
      received.payment.date = "2026-02-29"
      assert.has_error(function() plugin.map(received, {}) end, '$.payment.date: "2026-02-29" is not a date (YYYY-MM-DD)')
      received.payment.date = "2028-02-29"
      assert.are.equal("2028-02-29", plugin.map(received, {}).date)
      received.payment.date = "2026-11-21T10:00:00Z"
      assert.has_error(function() plugin.map(received, {}) end, '$.payment.date: "2026-11-21T10:00:00Z" is not a date (YYYY-MM-DD)')
      received.payment.date = 1795305570
      assert.has_error(function() plugin.map(received, {}) end, "$.payment.date: expected a string, found a number (1795305570)")
    end)

    it("names a malformed charge", function()
      received.payment.charge = 5
      assert.has_error(function() plugin.map(received, {}) end, "$.payment.charge: expected a string, found a number (5)")
    end)
  end)

  context("payment.refunded", function()
    it("refunds the charge's refunded total to the invoice's partner, keyed by the total", function()
      assert.are.same({
        op = "refund",
        key = "conflux.refund_ch_3QnB7xK2Lm9PqR4s0Vb5NmQa_4000",
        invoice = { xmlid = "conflux.service_svc-1001" },
        refunded_total = 40.0,
        date = "2026-11-24",
        memo = "refund ch_3QnB7xK2Lm9PqR4s0Vb5NmQa",
        ledger = {
          refund = "ch_3QnB7xK2Lm9PqR4s0Vb5NmQa",
          payment = "pi_3QnB7xK2Lm9PqR4s0kYh8ZtW",
          service_id = "svc-1001",
          amount = 40.0,
          currency = "USD",
        },
      }, plugin.map(refunded, {}))
    end)

    it("carries no journal (the connector's refund takes none)", function()
      assert.is_nil(plugin.map(refunded, {}).journal)
    end)

    it("refuses currencies other than USD", function()
      refunded.refund.currency = "CAD"
      assert.has_error(function() plugin.map(refunded, {}) end,
        "$.refund.currency: CAD: the clinic books in USD only; a payment in another currency needs a manual booking by finance")
    end)

    it("names every missing or ill-typed field", function()
      local cases = {
        { "charge", nil, "$.refund.charge: missing" },
        { "charge", "", "$.refund.charge: must not be empty" },
        { "payment_intent", json.null, "$.refund.payment_intent: missing" },
        { "refunded_total_cents", 40.0, "$.refund.refunded_total_cents: expected integer cents, found a float (40.0)" },
        { "refunded_total_cents", -4000, "$.refund.refunded_total_cents: -4000 cents: the amount must be positive" },
        { "service_id", true, "$.refund.service_id: expected a string, found a boolean" },
        { "date", "24/11/2026", '$.refund.date: "24/11/2026" is not a date (YYYY-MM-DD)' },
        { "date", nil, "$.refund.date: missing" },
      }
      for _, case in ipairs(cases) do
        local event = fixture_json("fixtures/payment.refunded.json")
        event.refund[case[1]] = case[2]
        assert.has_error(function() plugin.map(event, {}) end, case[3])
      end
    end)

    it("needs the refund object", function()
      refunded.refund = json.array({})
      assert.has_error(function() plugin.map(refunded, {}) end, "$.refund: expected an object, found an array")
    end)
  end)

  context("other events", function()
    it("are refused, naming what this mapping takes", function()
      received.type = "payment.disputed"
      assert.has_error(function() plugin.map(received, {}) end,
        "$.type: payment-odoo maps payment.received and payment.refunded, not payment.disputed")
    end)

    it("need a type", function()
      received.type = nil
      assert.has_error(function() plugin.map(received, {}) end, "$.type: missing")
      assert.has_error(function() plugin.map(json.array({ received }), {}) end, "$: expected an object, found an array")
    end)
  end)
end)
