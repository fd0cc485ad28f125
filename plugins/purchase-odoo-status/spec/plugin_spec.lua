local plugin = require("plugin")

describe("purchase-odoo-status", function()
  local event, ctx

  before_each(function()
    event = fixture_json("fixtures/purchase-confirmed.json")
    ctx = { config = { supplier = "MEDSUPPLY" } }
  end)

  it("marks the order sent, found in Odoo by its name (a person made it: no conflux external id)", function()
    assert.are.same({
      op = "update", model = "purchase.order", key = "conflux.purchase_P00012",
      record = { lookup = { model = "purchase.order", domain = { { "name", "=", "P00012" } } } },
      values = { x_supplier_status = "sent" },
    }, plugin.map(event, ctx))
  end)

  it("writes nothing but the status", function()
    local values = plugin.map(event, ctx).values
    local fields = {}
    for field in pairs(values) do fields[#fields + 1] = field end
    assert.are.same({ "x_supplier_status" }, fields)
  end)

  it("makes a key Odoo takes from a name with slashes", function()
    event.order.name = "PO/2026/0012"
    local op = plugin.map(event, ctx)
    assert.are.same({ "conflux.purchase_PO-2026-0012", "PO/2026/0012" }, { op.key, op.record.lookup.domain[1][3] })
  end)

  it("skips another supplier's order, whose status stays", function()
    event.order.supplier = "OTHER"
    assert.are.same({ skip = "order P00012 is for supplier OTHER, not sent to the portal: its status stays" }, plugin.map(event, ctx))
  end)

  it("refuses what it cannot name", function()
    event.order.name = ""
    assert.has_error(function() plugin.map(event, ctx) end, '$.order.name: expected a non-empty string, got the string ""')
    event.order = nil
    assert.has_error(function() plugin.map(event, ctx) end, "$.order: expected an object, got missing")
  end)

  it("refuses to run without config.supplier", function()
    assert.has_error(function() plugin.map(event, {}) end, "ctx.config.supplier: expected a non-empty string, got missing")
  end)
end)
