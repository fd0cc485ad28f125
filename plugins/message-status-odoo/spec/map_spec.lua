local plugin = require("plugin")
local json = require("json")

describe("message-status-odoo", function()
  local event, ledger

  before_each(function()
    event = fixture_json("fixtures/message-status-delivered.json")
    ledger = {}
    plugin._ledger_get = function(key) local v = ledger[key]; return v and json.decode(v) or nil end
    plugin._ledger_put = function(key, value) ledger[key] = json.encode(value); return true end
  end)

  local function status(name, code)
    local e = fixture_json("fixtures/message-status-delivered.json")
    e.status, e.error_code, e.idempotency_key = name, code, "twilio:" .. e.message_sid .. ":" .. name
    return e
  end

  it("posts a note on the appointment and sets its reminder status", function()
    assert.are.same({ operations = {
      { op = "note", key = "conflux.msgstatus_SM1f0e2d3c4b5a69788796a5b4c3d2e1f0_delivered", model = "calendar.event",
        record = { xmlid = "conflux.appointment_36996" }, body = "Appointment reminder (SMS to ***0123): delivered" },
      { op = "update", model = "calendar.event", key = "conflux.appointment_36996", values = { x_reminder_status = "delivered" } },
    } }, plugin.map(event, {}))
  end)

  it("shows only the last four digits of the number and never the message text", function()
    event.body = "Northside Clinic - North: reminder of your appointment on Mon Nov 23 at 9:15 AM."
    local encoded = json.encode(plugin.map(event, {}))
    assert.is_nil(encoded:find("5555550123", 1, true))
    assert.is_nil(encoded:find("+1555", 1, true))
    assert.is_nil(encoded:find("Northside", 1, true))
  end)

  it("names the kind of message", function()
    for kind, label in pairs({ confirmation = "Appointment confirmation", changed = "Appointment change notice",
                               cancelled = "Cancellation notice", reminder = "Appointment reminder" }) do
      event.kind = kind
      assert.are.equal(label .. " (SMS to ***0123): delivered", plugin.map(event, {}).operations[1].body)
    end
  end)

  it("maps sent, delivered, read, undelivered and failed to the field's values", function()
    local expected = { sent = "sent", delivered = "delivered", read = "delivered", undelivered = "failed", failed = "failed" }
    for name, field in pairs(expected) do
      ledger = {}
      assert.are.equal(field, plugin.map(status(name), {}).operations[2].values.x_reminder_status, name)
    end
  end)

  it("says a failure's code, and opted_out for 21610", function()
    local ops = plugin.map(status("undelivered", 30003), {}).operations
    assert.are.equal("Appointment reminder (SMS to ***0123): undelivered (Twilio 30003)", ops[1].body)
    assert.are.equal("failed", ops[2].values.x_reminder_status)
    ledger = {}
    ops = plugin.map(status("failed", 21610), {}).operations
    assert.are.equal("Appointment reminder (SMS to ***0123): not delivered: the patient opted out (Twilio 21610)", ops[1].body)
    assert.are.same({ x_reminder_status = "opted_out" }, ops[2].values)
  end)

  it("keys each note by message and status, so a redelivered report posts it once", function()
    assert.are.equal("conflux.msgstatus_SM1f0e2d3c4b5a69788796a5b4c3d2e1f0_sent", plugin.map(status("sent"), {}).operations[1].key)
    assert.are.same(plugin.map(event, {}), plugin.map(fixture_json("fixtures/message-status-delivered.json"), {}))
  end)

  it("does not set the field back when a sent arrives after its delivered, but still notes it", function()
    plugin.map(event, {})
    local ops = plugin.map(status("sent"), {}).operations
    assert.are.equal(1, #ops)
    assert.are.equal("note", ops[1].op)
    assert.are.equal("Appointment reminder (SMS to ***0123): sent", ops[1].body)
  end)

  it("skips interim statuses", function()
    for _, name in ipairs({ "queued", "accepted", "sending", "scheduled" }) do
      assert.are.same({ skip = ("interim status %s: nothing to record"):format(name) }, plugin.map(status(name), {}))
    end
    assert.are.same({}, ledger)
  end)

  it("writes the note without a number when the report has none", function()
    event.to = nil
    assert.are.equal("Appointment reminder (SMS): delivered", plugin.map(event, {}).operations[1].body)
  end)

  describe("refuses, naming the field", function()
    it("an appointment id an external id cannot hold", function()
      event.appointment_id = "north:36996"
      assert.has_error(function() plugin.map(event, {}) end,
        "$.appointment_id: expected an id of letters, digits, '_', '.' or '-' (it becomes part of an Odoo external id), got the string \"north:36996\"")
    end)

    it("an unknown status or kind, or a non-numeric code", function()
      event.status = "lost"
      assert.has_error(function() plugin.map(event, {}) end, "$.status: the string \"lost\" is not a delivery status")
      event.status, event.kind = "delivered", "invoice"
      assert.has_error(function() plugin.map(event, {}) end, "$.kind: the string \"invoice\" is not confirmation, changed, cancelled or reminder")
      event.kind, event.error_code = "reminder", "30003"
      assert.has_error(function() plugin.map(event, {}) end, "$.error_code: expected an integer, got the string \"30003\"")
    end)

    it("another event type", function()
      event.type = "appointment.booked"
      assert.has_error(function() plugin.map(event, {}) end, "$.type: expected a message.status event, got the string \"appointment.booked\"")
    end)
  end)
end)
