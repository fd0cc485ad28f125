local plugin = require("plugin")
local FakeOdoo = require("spec.fake_odoo")

describe("odoo ledger and reconciliation", function()
  local odoo, ctx

  before_each(function()
    odoo = FakeOdoo.new()
    odoo:install(plugin)
    ctx = { config = { url = "http://odoo.test", database = "clinic", protocol = "jsonrpc", login = "conflux-bot",
                       api_key_secret = "odoo/api_key" } }
  end)

  after_each(function() assert.are.same({}, odoo.problems) end)

  -- The service-completed delivery (patient, invoice posted), then its payment.
  local function deliver_service_and_payment()
    local results = plugin.deliver({ operations = { fixture_json("fixtures/partner.json"), fixture_json("fixtures/invoice.json") } }, ctx).results
    local payment = plugin.deliver(fixture_json("fixtures/payment.json"), ctx)
    return results[2].id, payment.id
  end

  local function drift(key, model, field, expected, actual, record_key, summary)
    return { type = "reconciliation.drift", idempotency_key = ("drift:%s:%s:%s:%s"):format(key, field, tostring(expected), tostring(actual)),
             key = key, model = model, field = field, expected = expected, actual = actual, record_key = record_key, summary = summary }
  end

  describe("the ledger", function()
    it("records each delivered operation that carries a ledger: what it was, where it went, its figures", function()
      local invoice, payment = deliver_service_and_payment()
      local entry = odoo.ledger["conflux.service_svc-1001"]
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d", entry.delivered_at)
      entry.delivered_at = nil
      assert.are.same({ op = "upsert", model = "account.move", id = invoice, posted = true,
                        expected = { service_id = "svc-1001", amount_total = 229.0, lines = 3, partner = "MRN-0047711" } }, entry)
      entry = odoo.ledger["conflux.payment_pi_3QK1"]
      entry.delivered_at = nil
      assert.are.same({ op = "register_payment", model = "account.payment", id = payment,
                        expected = { payment = "pi_3QK1", service_id = "svc-1001", amount = 229.0, currency = "USD" } }, entry)
    end)

    it("records nothing for an operation without a ledger, or one that failed", function()
      plugin.deliver(fixture_json("fixtures/partner.json"), ctx)
      local invoice_op = fixture_json("fixtures/invoice.json")
      invoice_op.values.currency_id.lookup.domain[1][3] = "XYZ"
      assert.is_false((pcall(plugin.deliver, invoice_op, ctx)))
      assert.are.same({}, odoo.ledger)
      assert.are.equal(0, odoo.ledger_writes)
    end)

    it("records a draft invoice without posted", function()
      plugin.deliver(fixture_json("fixtures/partner.json"), ctx)
      local invoice_op = fixture_json("fixtures/invoice.json")
      invoice_op.post = false
      plugin.deliver(invoice_op, ctx)
      assert.is_nil(odoo.ledger["conflux.service_svc-1001"].posted)
    end)
  end)

  describe("reconcile", function()
    it("finds no drift when Odoo holds what was delivered", function()
      deliver_service_and_payment()
      odoo:forget_log()
      assert.are.same({}, plugin.reconcile({}, ctx))
      assert.are.equal(2, #odoo:calls_to("ir.model.data", "search_read"))
      -- in key order: conflux.payment_… before conflux.service_…
      assert.are.same({ "account.payment", "account.move" },
        { odoo:calls_to(nil, "search_read")[2].model, odoo:calls_to(nil, "search_read")[4].model })
      assert.are.equal(0, #odoo:calls_to(nil, "write"))
    end)

    it("reports an invoice whose total changed in Odoo", function()
      local invoice = deliver_service_and_payment()
      odoo:record("account.move", invoice).amount_total = 210.5
      assert.are.same({ drift("conflux.service_svc-1001", "account.move", "amount_total", 229.0, 210.5, "conflux.service_svc-1001",
        "conflux.service_svc-1001: Conflux delivered 229.00, Odoo holds 210.50") }, plugin.reconcile({}, ctx))
    end)

    it("reports a posted invoice that is no longer posted", function()
      local invoice = deliver_service_and_payment()
      odoo:record("account.move", invoice).state = "cancel"
      assert.are.same({ drift("conflux.service_svc-1001", "account.move", "state", "posted", "cancel", "conflux.service_svc-1001",
        "conflux.service_svc-1001: delivered as posted, Odoo says cancel") }, plugin.reconcile({}, ctx))
    end)

    it("does not expect a draft invoice to be posted", function()
      plugin.deliver(fixture_json("fixtures/partner.json"), ctx)
      local invoice_op = fixture_json("fixtures/invoice.json")
      invoice_op.post = false
      plugin.deliver(invoice_op, ctx)
      assert.are.same({}, plugin.reconcile({}, ctx))
    end)

    it("reports a record Odoo no longer has, against the patient's record", function()
      local invoice = deliver_service_and_payment()
      odoo:remove("account.move", invoice)
      assert.are.same({ drift("conflux.service_svc-1001", "account.move", "record", "present", "missing", "conflux.patient_MRN-0047711",
        "account.move conflux.service_svc-1001 was delivered (229.0) but Odoo no longer has it") }, plugin.reconcile({}, ctx))
    end)

    it("reports a payment that was cancelled or changed", function()
      local _, payment = deliver_service_and_payment()
      local rec = odoo:record("account.payment", payment)
      rec.state, rec.amount = "canceled", 200.0
      assert.are.same({
        drift("conflux.payment_pi_3QK1", "account.payment", "amount", 229.0, 200.0, "conflux.payment_pi_3QK1",
              "conflux.payment_pi_3QK1: Conflux delivered 229.00, Odoo holds 200.00"),
        drift("conflux.payment_pi_3QK1", "account.payment", "state", "paid", "canceled", "conflux.payment_pi_3QK1",
              "conflux.payment_pi_3QK1: delivered as posted, Odoo says canceled"),
      }, plugin.reconcile({}, ctx))
    end)

    it("ignores differences under half a cent", function()
      local invoice = deliver_service_and_payment()
      odoo:record("account.move", invoice).amount_total = 229.004
      assert.are.same({}, plugin.reconcile({}, ctx))
    end)

    it("gives the same drift the same idempotency key on every run", function()
      local invoice = deliver_service_and_payment()
      odoo:record("account.move", invoice).amount_total = 210.5
      local first, second = plugin.reconcile({}, ctx), plugin.reconcile({}, ctx)
      assert.are.equal("drift:conflux.service_svc-1001:amount_total:229.0:210.5", first[1].idempotency_key)
      assert.are.equal(first[1].idempotency_key, second[1].idempotency_key)
    end)

    it("reads the whole ledger page by page, skipping entries it has nothing to compare", function()
      for i = 1, 200 do
        odoo:ledger_put(("conflux.drift_%03d"):format(i), { op = "activity", model = "mail.activity", id = i, expected = { note = "x" } })
      end
      local invoice = deliver_service_and_payment()
      odoo:record("account.move", invoice).amount_total = 1.0
      odoo.ledger_scans = 0
      odoo:forget_log()
      local events = plugin.reconcile({}, ctx)
      assert.are.equal(2, odoo.ledger_scans)
      assert.are.equal(1, #events)
      assert.are.equal("conflux.service_svc-1001", events[1].key)
      assert.are.equal(2, #odoo:calls_to("ir.model.data", "search_read"))
    end)

    it("without configuration: permanent", function()
      assert.are.same({ retryable = false, message = "odoo connector: the catalog entry has no config block (url, database, protocol, login, api_key_secret)" },
        select(2, pcall(plugin.reconcile, {}, {})))
    end)
  end)
end)
