-- The `many` marker, updates by record marker, notes in the chatter, and upserts of models with and without a state.
local plugin = require("plugin")
local json = require("json")
local FakeOdoo = require("spec.fake_odoo")

describe("odoo many2many, update by marker, note", function()
  local odoo, ctx, event_op, partner

  before_each(function()
    odoo = FakeOdoo.new()
    odoo:install(plugin)
    ctx = { config = { url = "http://odoo.test", database = "clinic", protocol = "jsonrpc", login = "conflux-bot",
                       api_key_secret = "odoo/api_key" } }
    partner = odoo:add("res.partner", { name = "Maria Okafor", ref = "MRN-0047711" })
    odoo:bind("conflux.patient_MRN-0047711", "res.partner", partner)
    event_op = fixture_json("fixtures/calendar-event.json")
  end)

  after_each(function() assert.are.same({}, odoo.problems) end)

  local function fails(op)
    local ok, err = pcall(plugin.deliver, op, ctx)
    assert.is_false(ok)
    assert.is_table(err)
    return err
  end

  describe("{ many = … }", function()
    it("becomes Odoo's replace command [[6, 0, ids]], each element resolved", function()
      local clinic = odoo:add("res.partner", { name = "Dr. Hale", ref = "PRV-7" })
      event_op.values.partner_ids.many[2] = { lookup = { model = "res.partner", domain = { { "ref", "=", "PRV-7" } } } }
      local desk = odoo:add("res.partner", { name = "Front desk" })
      event_op.values.partner_ids.many[3] = desk
      local result = plugin.deliver(event_op, ctx)
      local sent = odoo:calls_to("calendar.event", "create")[1].kw.vals_list[1].partner_ids
      assert.are.same({ { 6, 0, { partner, clinic, desk } } }, sent)
      assert.are.same({ partner, clinic, desk }, odoo:record("calendar.event", result.id).partner_ids)
    end)

    it("an empty list clears the field", function()
      local id = plugin.deliver(event_op, ctx).id
      event_op.values.partner_ids.many = json.array({})
      plugin.deliver(event_op, ctx)
      assert.are.same({ { 6, 0, {} } }, odoo:calls_to("calendar.event", "write")[1].kw.vals.partner_ids)
      assert.are.same({}, odoo:record("calendar.event", id).partner_ids)
    end)

    it("an element whose external id is not in Odoo yet: retryable, nothing created", function()
      event_op.values.partner_ids.many[1] = { xmlid = "conflux.patient_MRN-0099999" }
      assert.are.same({ retryable = true, message = "upsert.values.partner_ids.many[1]: conflux.patient_MRN-0099999 is not in Odoo yet "
        .. "(the event that creates it has not been delivered)" }, fails(event_op))
      assert.are.equal(0, odoo:count("calendar.event"))
    end)

    it("an element that is neither an id nor a marker: permanent, naming it", function()
      event_op.values.partner_ids.many[1] = "MRN-0047711"
      assert.are.same({ retryable = false, message = 'upsert.values.partner_ids.many[1]: expected a record id or a marker, got "MRN-0047711"' },
        fails(event_op))
    end)
  end)

  describe("a model without a state (calendar.event)", function()
    it("is written with the new values on every redelivery, so a rescheduled event moves", function()
      local first = plugin.deliver(event_op, ctx)
      event_op.values.start, event_op.values.stop = "2026-11-24 15:00:00", "2026-11-24 15:30:00"
      odoo:forget_log()
      local again = plugin.deliver(event_op, ctx)
      assert.are.same({ first.id, false, true }, { again.id, again.created, again.written })
      assert.is_nil(again.state)
      -- the key, then the partner's external id, then the write: no state read, nothing created
      assert.are.same({ "ir.model.data.search_read", "ir.model.data.search_read", "calendar.event.write" }, odoo:steps())
      local event = odoo:record("calendar.event", first.id)
      assert.are.same({ "2026-11-24 15:00:00", "2026-11-24 15:30:00" }, { event.start, event.stop })
      assert.are.equal(1, odoo:count("calendar.event"))
    end)

    it("a cancelled appointment's event is archived by a write, not left behind", function()
      local id = plugin.deliver(event_op, ctx).id
      event_op.values.active, event_op.values.x_status = false, "cancelled"
      plugin.deliver(event_op, ctx)
      assert.are.same({ false, "cancelled" }, { odoo:record("calendar.event", id).active, odoo:record("calendar.event", id).x_status })
    end)
  end)

  describe("update", function()
    it("targets a record someone made in Odoo by a lookup marker, without a key", function()
      local order = odoo:add("purchase.order", { partner_id = partner })
      local name = odoo:record("purchase.order", order).name
      local result = plugin.deliver({ op = "update", model = "purchase.order",
        record = { lookup = { model = "purchase.order", domain = { { "name", "=", name } } } },
        values = { x_supplier_status = "sent" } }, ctx)
      assert.are.same({ op = "update", model = "purchase.order", id = order }, result)
      assert.are.equal("sent", odoo:record("purchase.order", order).x_supplier_status)
      assert.are.same({ "purchase.order.search", "purchase.order.write" }, odoo:steps())
      assert.are.equal(0, #odoo:calls_to("ir.model.data", "create"))
    end)

    it("by a lookup that finds nothing: permanent, naming the model and domain", function()
      assert.are.same({ retryable = false, message = 'update.record: no purchase.order matches [["name","=","P09999"]] in Odoo' },
        fails({ op = "update", model = "purchase.order", record = { lookup = { model = "purchase.order", domain = { { "name", "=", "P09999" } } } },
                values = { x_supplier_status = "sent" } }))
    end)

    it("by an external id marker of another model: permanent", function()
      assert.are.same({ retryable = false, message = "update.record: external id conflux.patient_MRN-0047711 names a res.partner record, not purchase.order" },
        fails({ op = "update", model = "purchase.order", record = { xmlid = "conflux.patient_MRN-0047711" }, values = { origin = "x" } }))
    end)

    it("with neither key nor record: permanent before anything is sent", function()
      assert.are.same({ retryable = false, message = "update: update needs 'key' or 'record'" },
        fails({ op = "update", model = "purchase.order", values = { origin = "x" } }))
      assert.are.equal(0, #odoo.requests)
    end)
  end)

  describe("note", function()
    local note_op
    before_each(function() note_op = fixture_json("fixtures/note.json") end)

    it("posts a note with message_post and binds its key to the mail.message", function()
      local result = plugin.deliver(note_op, ctx)
      local post = odoo:calls_to("res.partner", "message_post")
      assert.are.equal(1, #post)
      assert.are.same({ partner }, post[1].ids)
      assert.are.same({ body = "Reminder sent by SMS for the visit on 2026-11-23.", message_type = "comment", subtype_xmlid = "mail.mt_note" },
        post[1].kw)
      local message = odoo:record("mail.message", result.id)
      assert.are.same({ "res.partner", partner, "comment", "mail.mt_note" }, { message.model, message.res_id, message.message_type, message.subtype_xmlid })
      assert.are.same({ op = "note", key = "conflux.note_reminder_A-1001", model = "mail.message", id = result.id, res_model = "res.partner",
                        res_id = partner, created = true }, result)
      assert.are.same({ "mail.message", result.id }, { odoo:xmlid("conflux.note_reminder_A-1001") })
    end)

    it("sends ids positionally over JSON-RPC ([[id]]) and as ids over JSON-2", function()
      plugin.deliver(note_op, ctx)
      local body = json.decode(tostring(odoo.requests[#odoo.requests - 1].body))
      assert.are.same({ "res.partner", "message_post", { { partner } } }, { body.params.args[4], body.params.args[5], body.params.args[6] })
      odoo = FakeOdoo.new()
      odoo:install(plugin)
      partner = odoo:add("res.partner", { name = "Maria Okafor" })
      odoo:bind("conflux.patient_MRN-0047711", "res.partner", partner)
      ctx.config.protocol = "json2"
      plugin.deliver(note_op, ctx)
      local request = odoo.requests[#odoo.requests - 1]
      assert.are.equal("http://odoo.test/json/2/res.partner/message_post", request.url)
      assert.are.same({ partner }, request.json.ids)
    end)

    it("redelivered: finds its key and posts nothing", function()
      local first = plugin.deliver(note_op, ctx)
      odoo:forget_log()
      assert.are.same({ op = "note", key = "conflux.note_reminder_A-1001", model = "mail.message", id = first.id, created = false },
        plugin.deliver(note_op, ctx))
      assert.are.same({ "ir.model.data.search_read" }, odoo:steps())
      assert.are.equal(1, odoo:count("mail.message"))
    end)

    it("on a record not in Odoo yet: retryable, nothing posted", function()
      note_op.record.xmlid = "conflux.patient_MRN-0099999"
      assert.are.same({ retryable = true, message = "note.record: conflux.patient_MRN-0099999 is not in Odoo yet "
        .. "(the event that creates it has not been delivered)" }, fails(note_op))
      assert.are.equal(0, odoo:count("mail.message"))
    end)

    it("without a body: permanent, naming it", function()
      note_op.body = nil
      assert.are.same({ retryable = false, message = "note: note needs 'body'" }, fails(note_op))
      note_op.body = ""
      assert.are.same({ retryable = false, message = "note: note needs a non-empty body" }, fails(note_op))
      assert.are.equal(0, #odoo:calls_to(nil, "message_post"))
    end)

    it("Odoo refusing the post (a record without a chatter): permanent with Odoo's message", function()
      odoo:fail{ model = "res.partner", method = "message_post", name = "builtins.AttributeError",
                 message = "'res.partner' object has no attribute 'message_post'" }
      local err = fails(note_op)
      assert.is_false(err.retryable)
      assert.matches("message_post", err.message)
      assert.is_nil(odoo:xmlid("conflux.note_reminder_A-1001"))
    end)
  end)
end)
