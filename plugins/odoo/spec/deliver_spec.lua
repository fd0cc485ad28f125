local plugin = require("plugin")
local FakeOdoo = require("spec.fake_odoo")

describe("odoo deliver", function()
  local odoo, ctx, partner_op, invoice_op

  before_each(function()
    odoo = FakeOdoo.new()
    odoo:install(plugin)
    ctx = { config = { url = "http://odoo.test", database = "clinic", protocol = "jsonrpc", login = "conflux-bot",
                       api_key_secret = "odoo/api_key" } }
    partner_op = fixture_json("fixtures/partner.json")
    invoice_op = fixture_json("fixtures/invoice.json")
  end)

  after_each(function() assert.are.same({}, odoo.problems) end)

  local function fails(op)
    local ok, err = pcall(plugin.deliver, op, ctx)
    assert.is_false(ok)
    assert.is_table(err)
    return err
  end

  describe("configuration", function()
    it("none at all: permanent, listing what it needs, and nothing is sent", function()
      local message = "odoo connector: the catalog entry has no config block (url, database, protocol, login, api_key_secret)"
      ctx = nil
      assert.are.same({ retryable = false, message = message }, fails(partner_op))
      ctx = {}
      assert.are.same({ retryable = false, message = message }, fails(partner_op))
      ctx = { config = "url=http://odoo.test" }
      assert.are.same({ retryable = false, message = message }, fails(partner_op))
      assert.are.equal(0, #odoo.requests)
    end)

    for _, field in ipairs({ "url", "database", "login", "api_key_secret" }) do
      it("without config." .. field .. ": permanent, naming the field", function()
        ctx.config[field] = nil
        assert.are.same({ retryable = false, message = ("odoo connector: config.%s is missing or not a string in the catalog entry"):format(field) },
          fails(partner_op))
        ctx.config[field] = ""
        assert.are.equal(("odoo connector: config.%s is missing or not a string in the catalog entry"):format(field), fails(partner_op).message)
        ctx.config[field] = 8069
        assert.are.equal(("odoo connector: config.%s is missing or not a string in the catalog entry"):format(field), fails(partner_op).message)
        assert.are.equal(0, #odoo.requests)
      end)
    end

    it("a protocol other than jsonrpc or json2: permanent, naming it", function()
      ctx.config.protocol = "soap"
      assert.are.same({ retryable = false, message = "odoo connector: config.protocol must be jsonrpc or json2, got soap" }, fails(partner_op))
      ctx.config.protocol = "JSONRPC"
      assert.are.equal("odoo connector: config.protocol must be jsonrpc or json2, got JSONRPC", fails(partner_op).message)
      assert.are.equal(0, #odoo.requests)
    end)

    it("without a protocol: JSON-RPC", function()
      ctx.config.protocol = nil
      plugin.deliver(partner_op, ctx)
      for _, request in ipairs(odoo.requests) do assert.are.equal("http://odoo.test/jsonrpc", request.url) end
    end)

    it("a skipped operation needs no configuration and sends nothing", function()
      assert.are.same({ skipped = "self-pay: nothing to invoice" }, plugin.deliver({ skip = "self-pay: nothing to invoice" }, nil))
      assert.are.equal(0, #odoo.requests)
    end)
  end)

  describe("operations", function()
    it("an unknown op: permanent, listing the known ones", function()
      assert.are.same({ retryable = false, message = "frobnicate: unknown op 'frobnicate' (upsert, update, register_payment, refund, activity, note, verify)" },
        fails({ op = "frobnicate", model = "res.partner" }))
      assert.are.same({ retryable = false, message = "nil: unknown op 'nil' (upsert, update, register_payment, refund, activity, note, verify)" },
        fails({ model = "res.partner" }))
      assert.are.equal(0, #odoo.requests)
    end)

    it("an operation that is not a table: permanent", function()
      assert.are.same({ retryable = false, message = "odoo.deliver: expected an operation table" }, fails("upsert"))
      assert.are.same({ retryable = false, message = "operations[1] (nil): an operation must be a table" },
        fails({ operations = { "upsert" } }))
    end)

    for _, field in ipairs({ "model", "key", "values" }) do
      it("an upsert without " .. field .. ": permanent, naming it", function()
        partner_op[field] = nil
        assert.are.same({ retryable = false, message = ("upsert: upsert needs '%s'"):format(field) }, fails(partner_op))
        assert.are.equal(0, #odoo.requests)
      end)
    end

    it("{ operations = … } runs them in order, a later one using the record an earlier one made", function()
      local out = plugin.deliver({ operations = { partner_op, invoice_op } }, ctx)
      local results = out.results
      assert.are.equal(2, #results)
      assert.are.same({ op = "upsert", model = "res.partner", key = "conflux.patient_MRN-0047711", id = results[1].id, created = true,
                        written = false, posted = false }, results[1])
      assert.are.same({ op = "upsert", model = "account.move", key = "conflux.service_svc-1001", id = results[2].id, created = true,
                        written = false, posted = true, state = "posted" }, results[2])
      assert.are.equal(results[1].id, odoo:record("account.move", results[2].id).partner_id)
      local steps = odoo:steps()
      local partner_at, invoice_at
      for i, step in ipairs(steps) do
        if step == "res.partner.create" then partner_at = i end
        if step == "account.move.create" then invoice_at = i end
      end
      assert.is_true(partner_at < invoice_at)
    end)

    it("{ operations = … } redelivered: creates nothing", function()
      plugin.deliver({ operations = { partner_op, invoice_op } }, ctx)
      odoo:forget_log()
      local results = plugin.deliver({ operations = { partner_op, invoice_op } }, ctx).results
      assert.are.same({ false, false }, { results[1].created, results[2].created })
      assert.are.equal(0, #odoo:calls_to(nil, "create"))
      assert.are.same({ 1, 1 }, { odoo:count("res.partner"), odoo:count("account.move") })
    end)

    it("{ operations = … } stops at the first failure, naming its index; earlier ones stay delivered", function()
      invoice_op.values.currency_id.lookup.domain[1][3] = "XYZ"
      local later = { op = "update", model = "res.partner", key = "conflux.patient_MRN-0047711", values = { email = "x@example.org" } }
      assert.are.same({ retryable = false, message = 'operations[2] (upsert).values.currency_id: no res.currency matches [["name","=","XYZ"]] in Odoo' },
        fails({ operations = { partner_op, invoice_op, later } }))
      assert.are.equal(1, odoo:count("res.partner"))
      assert.are.equal("m.okafor@example.org", odoo:all("res.partner")[1].email)
      assert.are.equal(0, odoo:count("account.move"))
    end)

    it("{ operations = … } with an unknown op among them names its index", function()
      assert.are.same({ retryable = false, message = "operations[2] (frobnicate): unknown op 'frobnicate' (upsert, update, register_payment, refund, activity, note, verify)" },
        fails({ operations = { partner_op, { op = "frobnicate" } } }))
      assert.are.equal(1, odoo:count("res.partner"))
    end)

    it("an empty { operations = {} } does nothing", function()
      assert.are.same({ results = {} }, plugin.deliver({ operations = {} }, ctx))
      assert.are.equal(0, #odoo.requests)
    end)
  end)

  describe("authentication failing for another reason than the key", function()
    -- Once a bug (authenticate() dropped the failure and reported any error as a refused login); fixed.
    it("a serialization failure during authenticate stays retryable", function()
      odoo.login, ctx.config.login = "busy-bot", "busy-bot"
      odoo:fail{ model = "common", method = "authenticate", name = "psycopg2.errors.SerializationFailure",
                 message = "could not serialize access due to concurrent update" }
      local err = fails(partner_op)
      assert.is_true(err.retryable)
      assert.matches("SerializationFailure", err.message)
    end)
  end)
end)
