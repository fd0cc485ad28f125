local plugin = require("plugin")
local time = require("time")
local FakeOdoo = require("spec.fake_odoo")

describe("odoo payments", function()
  local odoo, ctx, payment_op, partner, invoice

  -- A patient and their invoice for svc-1001 (229.00), as the service-invoice flow leaves them.
  local function seed_invoice(state)
    partner = odoo:add("res.partner", { name = "Maria Okafor", ref = "MRN-0047711" })
    odoo:bind("conflux.patient_MRN-0047711", "res.partner", partner)
    invoice = odoo:add("account.move", { move_type = "out_invoice", ref = "svc-1001", partner_id = partner, invoice_line_ids = {
      { 0, 0, { product_id = odoo.ids.p99213, name = "99213 Office visit", quantity = 1, price_unit = 125.0 } },
      { 0, 0, { product_id = odoo.ids.p36415, name = "36415 Venipuncture", quantity = 1, price_unit = 18.5 } },
      { 0, 0, { product_id = odoo.ids.p85025, name = "85025 Complete blood count", quantity = 2, price_unit = 42.75 } },
    } })
    odoo:bind("conflux.service_svc-1001", "account.move", invoice)
    if state == "posted" then odoo:post("account.move", invoice) end
  end

  before_each(function()
    odoo = FakeOdoo.new()
    odoo:install(plugin)
    ctx = { config = { url = "http://odoo.test", database = "clinic", protocol = "jsonrpc", login = "conflux-bot",
                       api_key_secret = "odoo/api_key" } }
    payment_op = fixture_json("fixtures/payment.json")
  end)

  after_each(function() assert.are.same({}, odoo.problems) end)

  local function fails(op)
    local ok, err = pcall(plugin.deliver, op, ctx)
    assert.is_false(ok)
    assert.is_table(err)
    return err
  end

  describe("register_payment", function()
    it("pays the posted invoice through account.payment.register and binds the payment", function()
      seed_invoice("posted")
      local result = plugin.deliver(payment_op, ctx)
      local payment = result.id
      assert.are.same({ op = "register_payment", key = "conflux.payment_pi_3QK1", id = payment, created = true, invoice = invoice }, result)
      local wizard = odoo:calls_to("account.payment.register", "create")
      assert.are.equal(1, #wizard)
      assert.are.same({ active_model = "account.move", active_ids = { invoice } }, wizard[1].kw.context)
      assert.are.same({ { amount = 229.0, payment_date = "2026-11-21", communication = "pi_3QK1", journal_id = odoo.ids.bank } },
        wizard[1].kw.vals_list)
      local wizard_id = odoo:all("account.payment.register")[1].id
      local run = odoo:calls_to("account.payment.register", "action_create_payments")
      assert.are.equal(1, #run)
      assert.are.same({ wizard_id }, run[1].ids)
      assert.are.same({ "account.payment", payment }, { odoo:xmlid("conflux.payment_pi_3QK1") })
      local steps = odoo:steps()
      assert.are.same({ "account.payment.register.create", "account.payment.register.action_create_payments", "ir.model.data.create" },
        { steps[#steps - 2], steps[#steps - 1], steps[#steps] })
      local paid = odoo:record("account.payment", payment)
      assert.are.same({ "inbound", partner, 229.0, "pi_3QK1", "2026-11-21", odoo.ids.bank },
        { paid.payment_type, paid.partner_id, paid.amount, paid.memo, paid.date, paid.journal_id })
      assert.are.same({ "paid", 0.0 }, { odoo:record("account.move", invoice).payment_state, odoo:record("account.move", invoice).amount_residual })
    end)

    it("reads the invoice's state, payment state and residual before paying", function()
      seed_invoice("posted")
      plugin.deliver(payment_op, ctx)
      local read = odoo:calls_to("account.move", "read")[1]
      assert.are.same({ invoice }, read.ids)
      assert.are.same({ "state", "payment_state", "amount_residual", "partner_id", "name" }, read.kw.fields)
    end)

    it("without a journal lets Odoo choose one", function()
      seed_invoice("posted")
      payment_op.journal = nil
      plugin.deliver(payment_op, ctx)
      assert.is_nil(odoo:calls_to("account.payment.register", "create")[1].kw.vals_list[1].journal_id)
      assert.are.equal(0, #odoo:calls_to("account.journal", "search"))
    end)

    it("a partial payment leaves the invoice partly paid; a second one pays the rest", function()
      seed_invoice("posted")
      payment_op.amount = 100.0
      plugin.deliver(payment_op, ctx)
      assert.are.same({ "partial", 129.0 }, { odoo:record("account.move", invoice).payment_state, odoo:record("account.move", invoice).amount_residual })
      payment_op.key, payment_op.memo, payment_op.amount = "conflux.payment_pi_3QK2", "pi_3QK2", 129.0
      assert.is_true(plugin.deliver(payment_op, ctx).created)
      assert.are.equal("paid", odoo:record("account.move", invoice).payment_state)
      assert.are.equal(2, odoo:count("account.payment"))
    end)

    it("redelivered: finds the payment by its external id and registers nothing", function()
      seed_invoice("posted")
      local first = plugin.deliver(payment_op, ctx)
      odoo:forget_log()
      assert.are.same({ op = "register_payment", key = "conflux.payment_pi_3QK1", id = first.id, created = false },
        plugin.deliver(payment_op, ctx))
      assert.are.same({ "ir.model.data.search_read" }, odoo:steps())
      assert.are.equal(1, odoo:count("account.payment"))
    end)

    it("after a crash before binding: finds the payment by its memo, binds it and registers nothing", function()
      seed_invoice("posted")
      local made = odoo:add("account.payment", { payment_type = "inbound", partner_id = partner, amount = 229.0, memo = "pi_3QK1" })
      local result = plugin.deliver(payment_op, ctx)
      assert.are.same({ op = "register_payment", key = "conflux.payment_pi_3QK1", id = made, created = false }, result)
      assert.are.same({ domain = { { "memo", "=", "pi_3QK1" } }, limit = 1 }, odoo:calls_to("account.payment", "search")[1].kw)
      assert.are.same({ "account.payment", made }, { odoo:xmlid("conflux.payment_pi_3QK1") })
      assert.are.equal(0, #odoo:calls_to("account.payment.register"))
    end)

    it("when the wizard answers True instead of the payment's form: finds the payment by its memo", function()
      seed_invoice("posted")
      odoo.action_result = "true"
      local result = plugin.deliver(payment_op, ctx)
      local payment = odoo:all("account.payment")[1].id
      assert.are.same({ payment, true }, { result.id, result.created })
      assert.are.same({ "account.payment", payment }, { odoo:xmlid("conflux.payment_pi_3QK1") })
      assert.are.equal(2, #odoo:calls_to("account.payment", "search"))
    end)

    it("on a draft invoice: retryable, and no wizard is opened", function()
      seed_invoice("draft")
      assert.are.same({ retryable = true, message = "register_payment: invoice conflux.service_svc-1001 is draft in Odoo, not posted yet" },
        fails(payment_op))
      assert.are.equal(0, #odoo:calls_to("account.payment.register"))
    end)

    it("on an invoice not in Odoo yet: retryable", function()
      assert.are.same({ retryable = true, message = "register_payment.invoice: conflux.service_svc-1001 is not in Odoo yet "
        .. "(the event that creates it has not been delivered)" }, fails(payment_op))
      assert.are.equal(0, #odoo:calls_to("account.payment.register"))
    end)

    it("on a paid invoice: permanent, naming the invoice and the payment", function()
      seed_invoice("posted")
      local rec = odoo:record("account.move", invoice)
      rec.payment_state, rec.amount_residual = "paid", 0.0
      assert.are.same({ retryable = false, message = "register_payment: invoice conflux.service_svc-1001 (INV/2026/00001) is already paid in "
        .. "Odoo; payment pi_3QK1 of 229.0 was not registered — a person must decide (refund or credit)" }, fails(payment_op))
      assert.are.equal(0, #odoo:calls_to("account.payment.register"))
      assert.are.equal(0, odoo:count("account.payment"))
    end)

    it("Odoo's own refusal (nothing left to pay) is permanent with its message", function()
      seed_invoice("posted")
      local rec = odoo:record("account.move", invoice)
      rec.payment_state, rec.amount_residual = "in_payment", 0.0
      assert.are.same({ retryable = false, message = "Odoo user error at http://odoo.test/jsonrpc object.execute_kw: You can't register a "
        .. "payment because there is nothing left to pay on the selected journal items. (odoo.exceptions.UserError)" }, fails(payment_op))
    end)

    it("refuses an amount that is not a positive number", function()
      seed_invoice("posted")
      payment_op.amount = 0
      assert.are.same({ retryable = false, message = "register_payment: amount must be a positive number, got 0" }, fails(payment_op))
      payment_op.amount = "229.00"
      assert.are.same({ retryable = false, message = "register_payment: amount must be a positive number, got 229.00" }, fails(payment_op))
      assert.are.equal(0, #odoo:calls_to("account.payment.register"))
    end)

    it("refuses an invoice that is not an external id marker", function()
      payment_op.invoice = 42
      assert.are.same({ retryable = false, message = 'register_payment: invoice must be { xmlid = "conflux.service_…" }' },
        fails(payment_op))
    end)

    it("needs key, invoice and amount", function()
      payment_op.amount = nil
      assert.are.same({ retryable = false, message = "register_payment: register_payment needs 'amount'" }, fails(payment_op))
      assert.are.equal(0, #odoo.requests)
    end)
  end)

  describe("refund", function()
    it("sends the invoice's partner an outbound customer payment, binds it, then posts it", function()
      seed_invoice("posted")
      local result = plugin.deliver(fixture_json("fixtures/refund.json"), ctx)
      assert.are.same({ op = "refund", key = "conflux.refund_ch_7RT2", id = result.id, created = true }, result)
      local refund = odoo:record("account.payment", result.id)
      assert.are.same({ "outbound", "customer", partner, 18.5, "2026-11-25", "refund ch_7RT2", "in_process" },
        { refund.payment_type, refund.partner_type, refund.partner_id, refund.amount, refund.date, refund.memo, refund.state })
      assert.are.same({ "account.payment", result.id }, { odoo:xmlid("conflux.refund_ch_7RT2") })
      local steps = odoo:steps()
      assert.are.same({ "account.payment.create", "ir.model.data.create", "account.payment.action_post" },
        { steps[#steps - 2], steps[#steps - 1], steps[#steps] })
    end)

    it("redelivered: registers nothing", function()
      seed_invoice("posted")
      local first = plugin.deliver(fixture_json("fixtures/refund.json"), ctx)
      assert.are.same({ op = "refund", key = "conflux.refund_ch_7RT2", id = first.id, created = false },
        plugin.deliver(fixture_json("fixtures/refund.json"), ctx))
      assert.are.equal(1, odoo:count("account.payment"))
    end)

    it("on a draft invoice: retryable", function()
      seed_invoice("draft")
      assert.is_true(fails(fixture_json("fixtures/refund.json")).retryable)
      assert.are.equal(0, odoo:count("account.payment"))
    end)

    -- Once a bug (a refund whose post failed stayed a draft: the redelivery found its external id and stopped); fixed.
    it("redelivered after its post failed: posts the draft it made", function()
      seed_invoice("posted")
      odoo:fail{ model = "account.payment", method = "action_post", name = "psycopg2.errors.SerializationFailure",
                 message = "could not serialize access due to concurrent update" }
      assert.is_true(fails(fixture_json("fixtures/refund.json")).retryable)
      local again = plugin.deliver(fixture_json("fixtures/refund.json"), ctx)
      local state = odoo:all("account.payment")[1].state
      assert.are.equal("in_process", state)
    end)
  end)

  -- Stripe's charge.refunded carries the charge's refunded total, not the refund: each total books what Odoo does not
  -- hold yet.
  describe("refund of a refunded total", function()
    local function total(cents)
      return { op = "refund", key = ("conflux.refund_ch_7RT2_%d"):format(cents), invoice = { xmlid = "conflux.service_svc-1001" },
               refunded_total = cents / 100, date = "2026-11-25", memo = "refund ch_7RT2",
               ledger = { refund = "ch_7RT2", payment = "pi_3QK1", service_id = "svc-1001", amount = cents / 100, currency = "USD" } }
    end
    local function refunds()
      local amounts = {}
      for _, payment in ipairs(odoo:all("account.payment")) do
        if payment.payment_type == "outbound" then amounts[#amounts + 1] = { payment.amount, payment.state } end
      end
      return amounts
    end

    it("books a second partial refund as its own part, and a redelivery as nothing", function()
      seed_invoice("posted")
      local first = plugin.deliver(total(4000), ctx)
      assert.are.same({ op = "refund", key = "conflux.refund_ch_7RT2_4000", id = first.id, created = true, amount = 40.0 }, first)
      local second = plugin.deliver(total(6000), ctx)
      assert.are.same({ op = "refund", key = "conflux.refund_ch_7RT2_6000", id = second.id, created = true, amount = 20.0 }, second)
      assert.are_not.equal(first.id, second.id)
      assert.are.same({ op = "refund", key = "conflux.refund_ch_7RT2_6000", id = second.id, created = false },
        plugin.deliver(total(6000), ctx))
      assert.are.same({ { 40.0, "in_process" }, { 20.0, "in_process" } }, refunds())
      -- The ledger expects what each delivery booked, which is what reconciliation compares with Odoo.
      assert.are.same({ 40.0, 20.0 }, { odoo.ledger["conflux.refund_ch_7RT2_4000"].expected.amount,
                                        odoo.ledger["conflux.refund_ch_7RT2_6000"].expected.amount })
    end)

    it("an older, smaller total arriving after a larger one books nothing and files no ledger entry", function()
      seed_invoice("posted")
      plugin.deliver(total(6000), ctx)
      assert.are.same({ op = "refund", key = "conflux.refund_ch_7RT2_4000", created = false, already_booked = 60.0 },
        plugin.deliver(total(4000), ctx))
      assert.are.same({ { 60.0, "in_process" } }, refunds())
      assert.is_nil(odoo.ledger["conflux.refund_ch_7RT2_4000"])
    end)

    it("after a crash between the payment and its external id: books nothing more, posts the draft and binds it", function()
      seed_invoice("posted")
      odoo:fail{ model = "ir.model.data", method = "create", name = "psycopg2.errors.SerializationFailure",
                 message = "could not serialize access due to concurrent update" }
      assert.is_true(fails(total(4000)).retryable)
      assert.are.same({ { 40.0, "draft" } }, refunds())
      local again = plugin.deliver(total(4000), ctx)
      assert.are.same({ { 40.0, "in_process" } }, refunds())
      assert.are.same({ op = "refund", key = "conflux.refund_ch_7RT2_4000", id = again.id, created = false }, again)
      assert.are.same({ "account.payment", again.id }, { odoo:xmlid("conflux.refund_ch_7RT2_4000") })
      assert.are.equal(40.0, odoo.ledger["conflux.refund_ch_7RT2_4000"].expected.amount)
      -- The next total books only its own part.
      assert.are.equal(20.0, plugin.deliver(total(6000), ctx).amount)
    end)

    it("a refund cancelled in Odoo does not count as booked", function()
      seed_invoice("posted")
      local first = plugin.deliver(total(4000), ctx)
      odoo:record("account.payment", first.id).state = "canceled"
      local again = plugin.deliver(total(6000), ctx)
      assert.are.equal(60.0, again.amount)
    end)

    it("needs amount or refunded_total, not both", function()
      seed_invoice("posted")
      local both = total(4000)
      both.amount = 40.0
      assert.are.same({ retryable = false, message = "refund: refund needs 'amount' or 'refunded_total', not both" }, fails(both))
      local neither = total(4000)
      neither.refunded_total = nil
      assert.are.same({ retryable = false, message = "refund: refund needs 'amount' or 'refunded_total', not both" }, fails(neither))
      assert.are.same({}, refunds())
    end)
  end)

  describe("activity", function()
    it("puts a to-do on the record its marker names, due today, and binds it", function()
      seed_invoice("posted")
      local result = plugin.deliver(fixture_json("fixtures/activity.json"), ctx)
      assert.are.same({ op = "activity", key = "conflux.drift_svc-1001", id = result.id, created = true }, result)
      local todo = odoo:record("mail.activity", result.id)
      assert.are.same({ "account.move", invoice, "Conflux: invoice total differs from the delivered ledger",
                        "Delivered 229.00, Odoo holds 210.50", time.iso8601():sub(1, 10) },
        { todo.res_model, todo.res_id, todo.summary, todo.note, todo.date_deadline })
      assert.are.same({ "mail.activity", result.id }, { odoo:xmlid("conflux.drift_svc-1001") })
      assert.are.same({ op = "activity", key = "conflux.drift_svc-1001", id = result.id, created = false },
        plugin.deliver(fixture_json("fixtures/activity.json"), ctx))
      assert.are.equal(1, odoo:count("mail.activity"))
    end)

    it("on a record not in Odoo yet: retryable", function()
      assert.are.same({ retryable = true, message = "activity.record: conflux.service_svc-1001 is not in Odoo yet "
        .. "(the event that creates it has not been delivered)" }, fails(fixture_json("fixtures/activity.json")))
    end)
  end)
end)
