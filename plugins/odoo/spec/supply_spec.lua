-- Purchases and stock: draft RFQs rewritten until someone confirms them, receipts validated with `action`, stock
-- counts checked with `verify`, and the poll of confirmed purchase orders.
local plugin = require("plugin")
local json = require("json")
local FakeOdoo = require("spec.fake_odoo")

describe("odoo supply", function()
  local odoo, ctx, ids, rfq_op, receipt_op, verify_op

  before_each(function()
    odoo = FakeOdoo.new()
    odoo:install(plugin)
    ids = odoo:seed_supply()
    ctx = { config = { url = "http://odoo.test", database = "clinic", protocol = "jsonrpc", login = "conflux-bot",
                       api_key_secret = "odoo/api_key" } }
    rfq_op = fixture_json("fixtures/purchase-rfq.json")
    receipt_op = fixture_json("fixtures/receipt.json")
    verify_op = fixture_json("fixtures/verify-stock.json")
  end)

  after_each(function() assert.are.same({}, odoo.problems) end)

  local function fails(op)
    local ok, err = pcall(plugin.deliver, op, ctx)
    assert.is_false(ok)
    assert.is_table(err)
    return err
  end

  local function order_lines(order)
    local out = {}
    for i, line_id in ipairs(odoo:record("purchase.order", order).order_line) do
      local line = odoo:record("purchase.order.line", line_id)
      out[i] = { line.product_id, line.product_qty }
    end
    return out
  end

  describe("a draft purchase order (the demand suggestion)", function()
    it("is created as a draft with its lines and bound to its key", function()
      local result = plugin.deliver(rfq_op, ctx)
      assert.are.same({ true, false, "draft" }, { result.created, result.written, result.state })
      local order = odoo:record("purchase.order", result.id)
      assert.are.same({ ids.supplier, "north", "Conflux demand north 2026-11-23", "2026-11-22 12:00:00", "draft" },
        { order.partner_id, order.x_site, order.origin, order.date_planned, order.state })
      assert.are.same({ { ids["GLV-NIT-M"], 1 }, { ids["NDL-23G"], 1 } }, order_lines(result.id))
      assert.are.same({ "purchase.order", result.id }, { odoo:xmlid("conflux.supply_north_20261123") })
    end)

    it("is rewritten while it is a draft: new quantities replace the old lines", function()
      local id = plugin.deliver(rfq_op, ctx).id
      rfq_op.values.order_line.lines[1].product_qty = 2
      local result = plugin.deliver(rfq_op, ctx)
      assert.are.same({ id, true, "draft" }, { result.id, result.written, result.state })
      assert.are.same({ { ids["GLV-NIT-M"], 2 }, { ids["NDL-23G"], 1 } }, order_lines(id))
      assert.are.equal(2, odoo:count("purchase.order.line"))
    end)

    it("once confirmed in Odoo is left alone: no write, no new order", function()
      local id = plugin.deliver(rfq_op, ctx).id
      odoo:record("purchase.order", id).state = "purchase"
      rfq_op.values.order_line.lines[1].product_qty = 9
      odoo:forget_log()
      local result = plugin.deliver(rfq_op, ctx)
      assert.are.same({ id, false, false, "purchase" }, { result.id, result.created, result.written, result.state })
      assert.are.equal(0, #odoo:calls_to(nil, "write"))
      assert.are.same({ { ids["GLV-NIT-M"], 1 }, { ids["NDL-23G"], 1 } }, order_lines(id))
      assert.are.equal(1, odoo:count("purchase.order"))
    end)

    it("action = button_confirm confirms it after writing, and not again once confirmed", function()
      rfq_op.action = "button_confirm"
      local result = plugin.deliver(rfq_op, ctx)
      assert.are.same({ "button_confirm", true, "purchase" }, { result.action, result.acted, result.state })
      local steps = odoo:steps()
      local created, confirmed
      for i, step in ipairs(steps) do
        if step == "ir.model.data.create" then created = i end
        if step == "purchase.order.button_confirm" then confirmed = i end
      end
      assert.is_true(created < confirmed)
      odoo:forget_log()
      local again = plugin.deliver(rfq_op, ctx)
      assert.are.same({ false, false, "purchase" }, { again.acted, again.written, again.state })
      assert.are.equal(0, #odoo:calls_to(nil, "button_confirm"))
    end)

    it("an action outside the allowlist: permanent before anything is sent", function()
      rfq_op.action = "unlink"
      assert.are.same({ retryable = false, message = "upsert: action 'unlink' is not one the connector presses "
        .. "(button_confirm, button_validate, button_cancel, action_post)" }, fails(rfq_op))
      assert.are.equal(0, #odoo.requests)
    end)
  end)

  describe("a receipt with action = button_validate", function()
    local order

    before_each(function()
      order = odoo:add("purchase.order", { partner_id = ids.supplier, x_site = "north", order_line = {
        { 0, 0, { product_id = ids["GLV-NIT-M"], name = "GLV-NIT-M", product_qty = 3, price_unit = 9.5 } },
        { 0, 0, { product_id = ids["NDL-23G"], name = "NDL-23G", product_qty = 2, price_unit = 14.0 } } } })
      odoo:record("purchase.order", order).state = "purchase"
    end)

    it("is created, bound, then validated: stock arrives at the site and the order's lines are received", function()
      local result = plugin.deliver(receipt_op, ctx)
      assert.are.same({ true, "button_validate", true, "done" }, { result.created, result.action, result.acted, result.state })
      local picking = odoo:record("stock.picking", result.id)
      assert.are.same({ order, ids.supplier, ids.vendors, ids.north, "incoming", "P00001" },
        { picking.purchase_id, picking.partner_id, picking.location_id, picking.location_dest_id, picking.picking_type_code, picking.origin })
      assert.are.same({ 3, 1 }, { odoo:on_hand(ids["GLV-NIT-M"], ids.north), odoo:on_hand(ids["NDL-23G"], ids.north) })
      local lines = odoo:record("purchase.order", order).order_line
      assert.are.same({ 3, 1 }, { odoo:record("purchase.order.line", lines[1]).qty_received, odoo:record("purchase.order.line", lines[2]).qty_received })
      local steps = odoo:steps()
      assert.are.same({ "ir.model.data.create", "stock.picking.button_validate", "stock.picking.read" },
        { steps[#steps - 2], steps[#steps - 1], steps[#steps] })
    end)

    it("redelivered after validation: nothing written, not validated twice, stock unchanged", function()
      local first = plugin.deliver(receipt_op, ctx)
      odoo:forget_log()
      local again = plugin.deliver(receipt_op, ctx)
      assert.are.same({ first.id, false, false, false, "done" }, { again.id, again.created, again.written, again.acted, again.state })
      assert.are.equal(0, #odoo:calls_to(nil, "button_validate"))
      assert.are.equal(0, #odoo:calls_to(nil, "write"))
      assert.are.equal(3, odoo:on_hand(ids["GLV-NIT-M"], ids.north))
    end)

    it("one that a person confirmed (assigned) but did not validate: not rewritten, but validated", function()
      local id = odoo:add("stock.picking", { partner_id = ids.supplier, move_ids = {
        { 0, 0, { product_id = ids["GLV-NIT-M"], name = "GLV-NIT-M", product_uom_qty = 3, quantity = 3,
                  location_id = ids.vendors, location_dest_id = ids.north } } } })
      odoo:record("stock.picking", id).state = "assigned"
      odoo:bind("conflux.receipt_DLV-5531", "stock.picking", id)
      local result = plugin.deliver(receipt_op, ctx)
      assert.are.same({ id, false, true, "done" }, { result.id, result.written, result.acted, result.state })
      assert.are.equal(0, #odoo:calls_to("stock.picking", "write"))
      assert.are.equal(3, odoo:on_hand(ids["GLV-NIT-M"], ids.north))
    end)

    it("Odoo refusing the validation: permanent with Odoo's message, the receipt stays for a person", function()
      odoo:fail{ model = "stock.picking", method = "button_validate", name = "odoo.exceptions.UserError",
                 message = "You cannot validate a transfer if no quantities are reserved." }
      local err = fails(receipt_op)
      assert.are.same({ false, "Odoo user error at http://odoo.test/jsonrpc object.execute_kw: You cannot validate a transfer "
        .. "if no quantities are reserved. (odoo.exceptions.UserError)" }, { err.retryable, err.message })
      assert.are.equal(1, odoo:count("stock.picking"))
    end)
  end)

  describe("verify", function()
    it("finds no drift when Odoo holds what was counted, and creates nothing", function()
      odoo:add("stock.quant", { product_id = ids["GLV-NIT-M"], location_id = ids.north, quantity = 7.0 })
      odoo:add("stock.quant", { product_id = ids["GLV-NIT-M"], location_id = ids.north, quantity = 5.0 })
      odoo:add("stock.quant", { product_id = ids["GLV-NIT-M"], location_id = ids.south, quantity = 40.0 })
      local result = plugin.deliver(verify_op, ctx)
      assert.are.same({ op = "verify", key = "conflux.stockcount_north_GLV-NIT-M_20261124T060000Z", model = "mail.activity",
                        held = 12.0, expected = 12, drift = 0, records = 2, within = true }, result)
      assert.are.equal(0, odoo:count("mail.activity"))
      local search = odoo:calls_to("stock.quant", "search_read")[1]
      assert.are.same({ domain = { { "product_id", "=", ids["GLV-NIT-M"] }, { "location_id", "=", ids.north } }, fields = { "quantity" } },
        search.kw)
    end)

    it("reports drift as a to-do on the subject, stating what Odoo holds and what was counted; writes nothing checked", function()
      odoo:add("stock.quant", { product_id = ids["GLV-NIT-M"], location_id = ids.north, quantity = 15.0 })
      local result = plugin.deliver(verify_op, ctx)
      assert.are.same({ 15.0, 12, 3, false, true }, { result.held, result.expected, result.drift, result.within, result.created })
      local activity = odoo:record("mail.activity", result.activity)
      assert.are.same({ "product.product", ids["GLV-NIT-M"], "Stock count differs: GLV-NIT-M at north" },
        { activity.res_model, activity.res_id, activity.summary })
      assert.are.equal("The supplier portal counted GLV-NIT-M at north on 2026-11-24T06:00:00Z. Odoo holds 15 (stock.quant.quantity "
        .. "over 1 record(s)); counted 12; difference +3 (tolerance 0).", activity.note)
      assert.are.same({ "mail.activity", result.activity }, { odoo:xmlid(verify_op.key) })
      assert.are.equal(0, #odoo:calls_to(nil, "write"))
      assert.are.equal(15.0, odoo:on_hand(ids["GLV-NIT-M"], ids.north))
    end)

    it("the same check run again adds no second to-do", function()
      plugin.deliver(verify_op, ctx)
      local again = plugin.deliver(verify_op, ctx)
      assert.are.same({ 0, -12, false }, { again.held, again.drift, again.created })
      assert.are.equal(1, odoo:count("mail.activity"))
    end)

    it("stays quiet within the tolerance, and sums floats without noise", function()
      odoo:add("stock.quant", { product_id = ids["GLV-NIT-M"], location_id = ids.north, quantity = 0.1 })
      odoo:add("stock.quant", { product_id = ids["GLV-NIT-M"], location_id = ids.north, quantity = 0.2 })
      verify_op.expected = 0.3
      assert.are.same({ 0, true }, { plugin.deliver(verify_op, ctx).drift, plugin.deliver(verify_op, ctx).within })
      verify_op.expected, verify_op.tolerance = 1.3, 1
      assert.is_true(plugin.deliver(verify_op, ctx).within)
      assert.are.equal(0, odoo:count("mail.activity"))
    end)

    it("a product Odoo does not know: permanent, naming the domain term", function()
      verify_op.domain[1][3].lookup.domain[1][3] = "XX-UNKNOWN"
      assert.are.same({ retryable = false, message = 'verify.domain[1]: no product.product matches [["default_code","=","XX-UNKNOWN"]] in Odoo' },
        fails(verify_op))
    end)

    it("checks its fields before anything is sent", function()
      verify_op.expected = "12"
      assert.are.same({ retryable = false, message = 'verify: expected must be a number, got "12"' }, fails(verify_op))
      verify_op.expected, verify_op.tolerance = 12, -1
      assert.are.same({ retryable = false, message = "verify: tolerance must be a number of at least 0, got -1" }, fails(verify_op))
      verify_op.tolerance, verify_op.subject = 0, { model = "product.product" }
      assert.are.same({ retryable = false, message = "verify: verify needs subject = { model, record } (the record a to-do goes on)" },
        fails(verify_op))
      assert.are.equal(0, #odoo.requests)
    end)
  end)

  describe("poll: confirmed purchases", function()
    local function confirmed(values, lines)
      local commands = {}
      for i, line in ipairs(lines) do
        commands[i] = { 0, 0, { product_id = ids[line[1]], name = line[1], product_qty = line[2], price_unit = line[3] } }
      end
      values.order_line = commands
      local id = odoo:add("purchase.order", values)
      odoo:record("purchase.order", id).state = "purchase"
      return id
    end

    it("turns each confirmed order not yet sent into purchase.confirmed, with its lines, supplier and site", function()
      confirmed({ partner_id = ids.supplier, x_site = "north", date_order = "2026-11-20 14:03:00", date_planned = "2026-11-22 12:00:00",
                  partner_ref = "Q-88" }, { { "GLV-NIT-M", 3.0, 9.5 }, { "NDL-23G", 2.0, 14.0 } })
      local events = plugin.poll({ flow = "supply", schedule = "confirmed-purchases", due = "2026-11-20T15:00:00Z" }, ctx)
      assert.are.same({ {
        type = "purchase.confirmed", idempotency_key = "odoo:purchase.order:P00001:confirmed", occurred_at = "2026-11-20T14:03:00Z",
        order = { name = "P00001", partner_ref = "Q-88", supplier = "MEDSUPPLY", site = "north", date_planned = "2026-11-22",
                  lines = { { sku = "GLV-NIT-M", quantity = 3, unit_price = 9.5 }, { sku = "NDL-23G", quantity = 2, unit_price = 14 } } },
      } }, events)
      assert.are.equal("integer", math.type(events[1].order.lines[1].quantity))
      local search = odoo:calls_to("purchase.order", "search_read")[1].kw
      assert.are.same({ { "state", "=", "purchase" }, { "x_supplier_status", "in", { false, "none" } } }, search.domain)
      assert.are.equal(100, search.limit)
    end)

    it("leaves out drafts, orders already sent, and (with supplier_refs) other suppliers' orders", function()
      local other = odoo:add("res.partner", { name = "Other Vendor", ref = "OTHER" })
      confirmed({ partner_id = ids.supplier, x_site = "north" }, { { "GLV-NIT-M", 1, 9.5 } })
      local sent = confirmed({ partner_id = ids.supplier, x_site = "south" }, { { "GLV-NIT-M", 1, 9.5 } })
      odoo:record("purchase.order", sent).x_supplier_status = "sent"
      local unset = confirmed({ partner_id = ids.supplier, x_site = "south" }, { { "BANDAGE", 1, 4.0 } })
      odoo:record("purchase.order", unset).x_supplier_status = nil
      odoo:add("purchase.order", { partner_id = ids.supplier, x_site = "north" })
      confirmed({ partner_id = other, x_site = "north" }, { { "GLV-NIT-M", 1, 9.5 } })
      local names = {}
      for i, event in ipairs(plugin.poll({}, ctx)) do names[i] = event.order.name .. "/" .. event.order.supplier end
      assert.are.same({ "P00001/MEDSUPPLY", "P00003/MEDSUPPLY", "P00005/OTHER" }, names)
      ctx.config.supplier_refs = { "MEDSUPPLY" }
      names = {}
      for i, event in ipairs(plugin.poll({}, ctx)) do names[i] = event.order.name end
      assert.are.same({ "P00001", "P00003" }, names)
    end)

    it("an order it cannot describe to the supplier is left out, the others still go", function()
      local nameless = odoo:add("product.product", { name = "Loose item" })
      local bad = odoo:add("purchase.order", { partner_id = ids.supplier, x_site = "north", order_line = {
        { 0, 0, { product_id = nameless, name = "Loose item", product_qty = 1, price_unit = 1.0 } } } })
      odoo:record("purchase.order", bad).state = "purchase"
      confirmed({ partner_id = ids.supplier }, { { "GLV-NIT-M", 1, 9.5 } })
      confirmed({ partner_id = ids.supplier, x_site = "south" }, { { "GLV-NIT-M", 1, 9.5 } })
      local events = plugin.poll({ due = "2026-11-20T15:00:00Z" }, ctx)
      assert.are.equal(1, #events)
      assert.are.same({ "P00003", "2026-11-20T15:00:00Z" }, { events[1].order.name, events[1].occurred_at })
    end)

    it("nothing confirmed: an empty list after one search", function()
      assert.are.same({}, plugin.poll({}, ctx))
      assert.is_true(json.is_array(plugin.poll({}, ctx)))
      assert.are.same({ "purchase.order.search_read", "purchase.order.search_read" }, odoo:steps())
    end)

    it("is the same hook as _confirmed_purchases", function()
      confirmed({ partner_id = ids.supplier, x_site = "north" }, { { "GLV-NIT-M", 1, 9.5 } })
      assert.are.same(plugin.poll({}, ctx), plugin._confirmed_purchases({}, ctx))
    end)
  end)
end)
