local plugin = require("plugin")
local json = require("json")

describe("purchase-supplier", function()
  local event, ctx

  before_each(function()
    event = fixture_json("fixtures/purchase-confirmed.json")
    ctx = { config = { supplier = "MEDSUPPLY", buyer = "northside-clinics",
                       ship_to = { north = "Northside Clinics North, receiving dock, 1200 North Ave, Springfield IL 62702",
                                   south = "Northside Clinics South, 88 Lake Rd, Springfield IL 62704" } } }
  end)

  it("turns a confirmed order into the portal's send_order, the Odoo name as the order_ref", function()
    assert.are.same({
      op = "send_order",
      order = { order_ref = "P00012", buyer = "northside-clinics", site = "north",
                ship_to = "Northside Clinics North, receiving dock, 1200 North Ave, Springfield IL 62702", requested_date = "2026-11-22",
                lines = { { sku = "GLV-NIT-M", quantity = 2, unit_price = 9.5 }, { sku = "NDL-23G", quantity = 1, unit_price = 14.0 } } },
    }, plugin.map(event, ctx))
  end)

  it("ships to the order's site", function()
    event.order.site = "south"
    assert.are.equal("Northside Clinics South, 88 Lake Rd, Springfield IL 62704", plugin.map(event, ctx).order.ship_to)
  end)

  it("maps a redelivered event to the same operation, byte for byte", function()
    assert.are.equal(json.encode(plugin.map(event, ctx)), json.encode(plugin.map(fixture_json("fixtures/purchase-confirmed.json"), ctx)))
  end)

  it("has no requested_date when the order has no planned date", function()
    event.order.date_planned = nil
    assert.is_nil(plugin.map(event, ctx).order.requested_date)
  end)

  it("skips another supplier's order: not sent, not failed", function()
    event.order.supplier = "OTHER"
    assert.are.same({ skip = "order P00012 is for supplier OTHER; the portal takes MEDSUPPLY's orders" }, plugin.map(event, ctx))
  end)

  it("refuses a site without a delivery address, naming it", function()
    event.order.site = "east"
    assert.has_error(function() plugin.map(event, ctx) end, '$.order.site: no delivery address for site "east" in the catalog entry\'s config.ship_to')
  end)

  it("refuses malformed fields by their path", function()
    event.order.lines[2].quantity = "1"
    assert.has_error(function() plugin.map(event, ctx) end, '$.order.lines[2].quantity: expected a positive number, got the string "1"')
    event.order.lines = json.array({})
    assert.has_error(function() plugin.map(event, ctx) end, "$.order.lines: expected a non-empty array of lines, got an array")
    event.order.name = nil
    assert.has_error(function() plugin.map(event, ctx) end, "$.order.name: expected a non-empty string, got missing")
    event.type = "purchase.cancelled"
    assert.has_error(function() plugin.map(event, ctx) end, '$.type: expected purchase.confirmed, got the string "purchase.cancelled"')
  end)

  it("refuses to run without its configuration", function()
    assert.has_error(function() plugin.map(event, {}) end,
      "ctx.config: missing; the catalog entry's config: block must give supplier, buyer and ship_to")
    ctx.config.ship_to = nil
    assert.has_error(function() plugin.map(event, ctx) end, "ctx.config.ship_to: expected an object of site → delivery address")
  end)
end)
