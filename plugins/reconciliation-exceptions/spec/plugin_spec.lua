local plugin = require("plugin")

describe("reconciliation-exceptions", function()
  local event
  before_each(function() event = fixture_json("fixtures/drift-amount.json") end)

  it("turns an amount drift into a to-do on the invoice", function()
    local op = plugin.map(event, { flow = "clinic-billing" })
    assert.are.equal("activity", op.op)
    assert.are.equal("account.move", op.model)
    assert.are.same({ xmlid = "conflux.service_svc-1001" }, op.record)
    assert.are.equal("Reconciliation: amount_total differs", op.summary)
    assert.matches("Expected 186.25, found 150.0", op.note)
    assert.matches("^conflux%.drift_%x+$", op.key)
  end)

  it("gives the same drift the same key, and a different drift another", function()
    local first = plugin.map(event, {}).key
    assert.are.equal(first, plugin.map(event, {}).key)
    event.actual = 140.0
    assert.are_not.equal(first, plugin.map(event, {}).key)
  end)

  it("puts a missing invoice's exception on the patient", function()
    event.field, event.expected, event.actual, event.record_key = "record", "present", "missing", "conflux.patient_MRN-1"
    local op = plugin.map(event, {})
    assert.are.equal("res.partner", op.model)
    assert.are.same({ xmlid = "conflux.patient_MRN-1" }, op.record)
  end)

  it("refuses a drift with nowhere to attach it, or another event", function()
    event.record_key = nil
    assert.error_matches(function() plugin.map(event, {}) end, "no record in Odoo to attach")
    assert.error_matches(function() plugin.map({ type = "service.completed" }, {}) end, "expected a reconciliation.drift event")
  end)
end)
