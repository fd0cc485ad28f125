local plugin = require("plugin")
local json = require("json")

-- E-mail reports come from email-events (SendGrid) with channel = "email"; the fixture is what it makes of a
-- `delivered` event.
describe("message-status-odoo, e-mail", function()
  local event, ledger

  before_each(function()
    event = fixture_json("fixtures/message-status-email-delivered.json")
    ledger = {}
    plugin._ledger_get = function(key) local v = ledger[key]; return v and json.decode(v) or nil end
    plugin._ledger_put = function(key, value) ledger[key] = json.encode(value); return true end
  end)

  local function status(name, code)
    local e = fixture_json("fixtures/message-status-email-delivered.json")
    e.status, e.error_code = name, code
    return e
  end

  it("posts a note naming the e-mail and the masked address, and sets the reminder status", function()
    assert.are.same({ operations = {
      { op = "note", key = "conflux.msgstatus_W5mO6b4-R9GPLPFGjlPAjg_delivered", model = "calendar.event",
        record = { xmlid = "conflux.appointment_36996" },
        body = "Appointment reminder (e-mail to j***@example.org): delivered" },
      { op = "update", model = "calendar.event", key = "conflux.appointment_36996", values = { x_reminder_status = "delivered" } },
    } }, plugin.map(event, {}))
  end)

  it("never shows the address's local part", function()
    local encoded = json.encode(plugin.map(event, {}))
    assert.is_nil(encoded:find("jane", 1, true))
    assert.is_nil(encoded:find("doe@", 1, true))
  end)

  it("names the kind of e-mail", function()
    event.kind = "cancelled"
    assert.are.equal("Cancellation notice (e-mail to j***@example.org): delivered", plugin.map(event, {}).operations[1].body)
  end)

  it("maps processed (sent) and delivered, and a bounce or drop (failed)", function()
    for name, field in pairs({ sent = "sent", delivered = "delivered", failed = "failed" }) do
      ledger = {}
      assert.are.equal(field, plugin.map(status(name), {}).operations[2].values.x_reminder_status, name)
    end
  end)

  it("says a bounce's SMTP status or type, and sets failed, never opted_out", function()
    local ops = plugin.map(status("failed", "5.1.1"), {}).operations
    assert.are.equal("Appointment reminder (e-mail to j***@example.org): failed (SMTP 5.1.1)", ops[1].body)
    assert.are.same({ x_reminder_status = "failed" }, ops[2].values)
    ledger = {}
    assert.are.equal("Appointment reminder (e-mail to j***@example.org): failed (blocked)",
      plugin.map(status("failed", "blocked"), {}).operations[1].body)
    ledger = {}
    assert.are.equal("Appointment reminder (e-mail to j***@example.org): failed", plugin.map(status("failed", json.null), {}).operations[1].body)
  end)

  it("a bounce after its delivery sets failed; a late processed does not set delivered back", function()
    plugin.map(event, {})
    assert.are.equal(1, #plugin.map(status("sent"), {}).operations)
    local ops = plugin.map(status("failed", "5.1.1"), {}).operations
    assert.are.same({ x_reminder_status = "failed" }, ops[2].values)
  end)

  it("writes the note without an address when the report has none or a malformed one", function()
    event.to = nil
    assert.are.equal("Appointment reminder (e-mail): delivered", plugin.map(event, {}).operations[1].body)
    event.to = "jane.doe"
    assert.are.equal("Appointment reminder (e-mail): delivered", plugin.map(event, {}).operations[1].body)
  end)

  it("keeps SMS the default: an event without channel, or channel sms, reads its code as Twilio's", function()
    event.channel, event.to, event.status, event.error_code = "sms", "+15555550123", "failed", 21610
    assert.are.same({ x_reminder_status = "opted_out" }, plugin.map(event, {}).operations[2].values)
    ledger = {}
    event.channel = nil
    assert.are.equal("Appointment reminder (SMS to ***0123): not delivered: the patient opted out (Twilio 21610)",
      plugin.map(event, {}).operations[1].body)
  end)

  describe("refuses, naming the field", function()
    it("an unknown channel", function()
      event.channel = "fax"
      assert.has_error(function() plugin.map(event, {}) end, "$.channel: the string \"fax\" is not sms or email")
    end)

    it("an e-mail error code that is a number or free text", function()
      event.status, event.error_code = "failed", 21610
      assert.has_error(function() plugin.map(event, {}) end,
        "$.error_code: expected an SMTP status (5.1.1) or bounce type for an e-mail, got a number")
      event.error_code = "550 user unknown"
      assert.has_error(function() plugin.map(event, {}) end,
        "$.error_code: expected an SMTP status (5.1.1) or bounce type for an e-mail, got the string \"550 user unknown\"")
    end)

    it("an SMS error code that is not an integer, as before", function()
      event.channel, event.status, event.error_code = "sms", "failed", "5.1.1"
      assert.has_error(function() plugin.map(event, {}) end, "$.error_code: expected an integer, got the string \"5.1.1\"")
    end)
  end)
end)
