local plugin = require("plugin")

describe("appointment-invoice", function()
  local event

  before_each(function()
    event = fixture_json("fixtures/appointment-completed.json")
  end)

  it("maps a completed appointment to one posted customer invoice", function()
    local op = plugin.map(event, {})
    assert.are.equal("account.move", op.model)
    assert.are.equal("conflux_appointment_APT-88231", op.external_id)
    assert.is_true(op.post)
    assert.are.equal("out_invoice", op.values.move_type)
    assert.are.equal("2026-11-21", op.values.invoice_date)
    assert.are.equal("MRN-0047711", op.values.partner_ref)
  end)

  it("bills every line in cents, with the product from the value map", function()
    local op = plugin.map(event, {})
    assert.are.same({
      { product_id = 101, name = "99213 Office visit, established patient", quantity = 1, price_unit_cents = 14500 },
      { product_id = 102, name = "36415 Venipuncture", quantity = 1, price_unit_cents = 1850 },
      { product_id = 103, name = "85025 Complete blood count", quantity = 1, price_unit_cents = 4275 },
    }, op.values.invoice_line_ids)
    assert.are.equal(14500 + 1850 + 4275, op.values.amount_total_cents)
  end)

  it("keys the invoice by the appointment, so a redelivery maps to the same external id", function()
    assert.are.equal(plugin.map(event, {}).external_id, plugin.map(event, {}).external_id)
  end)

  it("sends no clinical or contact detail to the ERP", function()
    local encoded = require("json").encode(plugin.map(event, {}))
    for _, leaked in ipairs({ event.patient.birth_date, event.patient.phone, event.patient.email, event.provider.npi }) do
      assert.is_nil(encoded:find(leaked, 1, true), "leaked " .. leaked)
    end
  end)

  it("rejects a service code without a product, naming the line", function()
    event.lines[2].code = "99999"
    assert.has_error(function() plugin.map(event, {}) end, "line 2: service code 99999 has no Odoo product in the value map")
  end)

  it("rejects other event types", function()
    event.type = "appointment.cancelled"
    assert.error_matches(function() plugin.map(event, {}) end, "expected an appointment.completed event")
  end)
end)
