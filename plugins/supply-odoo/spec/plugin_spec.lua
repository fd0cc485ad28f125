local plugin = require("plugin")
local json = require("json")
local install_ledger = require("spec.ledger_memory")

describe("supply-odoo", function()
  local store, ctx, ack, delivery, count

  before_each(function()
    store = install_ledger(plugin)
    ctx = { config = { supplier = "MEDSUPPLY" } }
    ack = fixture_json("fixtures/supplier.acknowledged.json")
    delivery = fixture_json("fixtures/goods.received.json")
    count = fixture_json("fixtures/stock.counted.json")
  end)

  local function map(event) return plugin.map(event, ctx) end
  local PO = { lookup = { model = "purchase.order", domain = { { "name", "=", "P00012" } } } }

  describe("supplier.acknowledged", function()
    it("updates the order found by its name, and posts a note on it", function()
      local ops = map(ack).operations
      assert.are.same({ op = "update", model = "purchase.order", key = "conflux.purchase_P00012", record = PO, values = {
        x_supplier_status = "acknowledged", partner_ref = "SO-40871", x_supplier_order_ref = "SO-40871", date_planned = "2026-11-22 12:00:00",
      } }, ops[1])
      assert.are.same({ op = "note", model = "purchase.order", record = PO, key = "conflux.supplier_ack_P00012_SO-40871_20261122",
        body = "Supplier MEDSUPPLY acknowledged P00012 as SO-40871: delivery promised for 2026-11-22. Confirmed: GLV-NIT-M 3, NDL-23G 2." },
        ops[2])
      assert.are.equal(2, #ops)
    end)

    it("names what the supplier did not confirm", function()
      ack.order.lines[2].quantity_confirmed = 0
      assert.matches("Confirmed: GLV%-NIT%-M 3%. Not confirmed: NDL%-23G%.$", map(ack).operations[2].body)
    end)

    it("redelivered: the same operations (the connector finds the note's key)", function()
      assert.are.equal(json.encode(map(ack)), json.encode(map(fixture_json("fixtures/supplier.acknowledged.json"))))
    end)

    it("arriving after the delivery does not pull the status back", function()
      map(delivery)
      local values = map(ack).operations[1].values
      assert.is_nil(values.x_supplier_status)
      assert.are.equal("SO-40871", values.partner_ref)
    end)

    it("refuses malformed fields by their path", function()
      ack.order.promised_date = "soon"
      assert.has_error(function() map(ack) end, '$.order.promised_date: "soon" is not a date YYYY-MM-DD')
      ack.order.promised_date = "2026-11-22"
      ack.order.lines[1].quantity_confirmed = nil
      assert.has_error(function() map(ack) end, "$.order.lines[1].quantity_confirmed: expected a number of at least 0, got missing")
    end)
  end)

  describe("goods.received", function()
    it("upserts and validates the receipt, shaped as the odoo connector's receipt takes it", function()
      delivery.delivery.order = "P00001"
      local ops = map(delivery).operations
      assert.are.same(fixture_json("fixtures/odoo-receipt.json"), ops[1])
    end)

    it("then marks the order delivered when no acknowledgement was seen (nothing to compare with)", function()
      assert.are.same({ op = "update", model = "purchase.order", key = "conflux.purchase_P00012", record = PO,
                        values = { x_supplier_status = "delivered" } }, map(delivery).operations[2])
    end)

    it("partial while less arrived than confirmed; delivered once the rest comes, counting each delivery once", function()
      map(ack)                                                          -- confirmed GLV-NIT-M 3, NDL-23G 2
      assert.are.equal("partial", map(delivery).operations[2].values.x_supplier_status)   -- 3 and 1
      assert.are.equal("partial", map(delivery).operations[2].values.x_supplier_status)   -- redelivered: still 3 and 1
      delivery.delivery.id, delivery.delivery.lines = "DLV-5540", { { sku = "NDL-23G", quantity_delivered = 1 } }
      local ops = map(delivery).operations
      assert.are.same({ "conflux.receipt_DLV-5540", "delivered" }, { ops[1].key, ops[2].values.x_supplier_status })
      assert.are.same({ ["DLV-5531"] = { ["GLV-NIT-M"] = 3, ["NDL-23G"] = 1 }, ["DLV-5540"] = { ["NDL-23G"] = 1 } },
        json.decode(store["order/P00012"]).deliveries)
    end)

    it("a line with nothing delivered gets no move; a delivery of nothing only updates the status", function()
      delivery.delivery.lines[2].quantity_delivered = 0
      assert.are.equal(1, #map(delivery).operations[1].values.move_ids.lines)
      delivery.delivery.lines[1].quantity_delivered = 0
      local ops = map(delivery).operations
      assert.are.same({ 1, "update" }, { #ops, ops[1].op })
    end)

    it("dates the receipt in UTC, Odoo's way", function()
      delivery.delivery.delivered_at = "2026-11-22T10:40:00-05:00"
      assert.are.equal("2026-11-22 15:40:00", map(delivery).operations[1].values.scheduled_date)
    end)

    it("refuses malformed fields by their path", function()
      delivery.delivery.delivered_at = "yesterday"
      assert.has_error(function() map(delivery) end, '$.delivery.delivered_at: "yesterday" is not an ISO 8601 date-time')
      delivery.delivery.delivered_at = "2026-11-22T15:40:00Z"
      delivery.delivery.lines[2].sku = 7
      assert.has_error(function() map(delivery) end, "$.delivery.lines[2].sku: expected a non-empty string, got a number (7)")
    end)
  end)

  describe("stock.counted", function()
    it("becomes one verify per item, shaped as the odoo connector's verify takes it", function()
      local ops = map(count).operations
      assert.are.equal(2, #ops)
      assert.are.same(fixture_json("fixtures/odoo-verify-stock.json"), ops[1])
      assert.are.same({ "conflux.stockcount_north_NDL-23G_20261124T060000Z", 3, "Stock count differs: NDL-23G at north" },
        { ops[2].key, ops[2].expected, ops[2].summary })
    end)

    it("never writes stock: only verify operations", function()
      for _, op in ipairs(map(count).operations) do assert.are.equal("verify", op.op) end
    end)

    it("a new count gets new keys (a new to-do if the drift persists); the same count, the same keys", function()
      local first = map(count).operations[1].key
      assert.are.equal(first, map(fixture_json("fixtures/stock.counted.json")).operations[1].key)
      count.counted_at = "2026-11-25T06:00:00Z"
      assert.are.equal("conflux.stockcount_north_GLV-NIT-M_20261125T060000Z", map(count).operations[1].key)
    end)

    it("takes its tolerance from config", function()
      ctx.config.tolerance = 1
      assert.are.equal(1, map(count).operations[1].tolerance)
    end)

    it("an empty count is a skip", function()
      count.items = json.array({})
      assert.are.same({ skip = "stock count of north at 2026-11-24T06:00:00Z lists no items" }, map(count))
    end)

    it("refuses a malformed item by its path", function()
      count.items[2].quantity = -3
      assert.has_error(function() map(count) end, "$.items[2].quantity: expected a number of at least 0, got a number (-3)")
    end)
  end)

  it("refuses other events", function()
    assert.has_error(function() map({ type = "purchase.confirmed" }) end,
      '$.type: expected supplier.acknowledged, goods.received or stock.counted, got the string "purchase.confirmed"')
  end)
end)
