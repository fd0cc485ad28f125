local plugin = require("plugin")
local json = require("json")

-- The fixture is one SendGrid batch: jane.doe's reminder (processed, deferred, delivered, open, click), a portal
-- e-mail without a ref, a bounce, a drop, then unsubscribe, group_unsubscribe, spamreport and group_resubscribe.
local function batch() return fixture_json("fixtures/sendgrid-batch.json") end
local function decode(items) return plugin.decode(json.encode(items), {}) end
local function one(item) return decode({ item }) end

local function refusal(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.is_table(err)
  assert.is_false(err.retryable)
  return err.message
end

describe("email-events decode", function()
  describe("the fixture batch", function()
    it("becomes events in the array's order, without deferred, open, click or the e-mail without a ref", function()
      local types = {}
      for i, event in ipairs(plugin.decode(fixture("fixtures/sendgrid-batch.json"), {})) do
        types[i] = event.type .. ":" .. (event.status or event.keyword)
      end
      assert.are.same({ "message.status:sent", "message.status:delivered", "message.status:failed", "message.status:failed",
                        "patient.opted_out:unsubscribe", "patient.opted_out:group_unsubscribe",
                        "patient.opted_out:spamreport", "patient.opted_in:group_resubscribe" }, types)
    end)

    it("gives delivered the SMS message.status shape plus channel", function()
      local events = plugin.decode(fixture("fixtures/sendgrid-batch.json"), {})
      assert.are.same({
        type = "message.status", idempotency_key = "sendgrid:ZGVsaXZlcmVkLTEtMTA2NDIyODQtVzVtTzZiNC1SOUdQTFBGR2psUEFqZy0w",
        occurred_at = "2026-11-22T14:56:20Z", channel = "email", message_sid = "W5mO6b4-R9GPLPFGjlPAjg",
        status = "delivered", ref = "36996:reminder", appointment_id = "36996", kind = "reminder",
        to = "jane.doe@example.org",
      }, events[2])
      assert.are.same({ "sent", "2026-11-22T14:55:09Z", "sendgrid:cHJvY2Vzc2VkLTEwNjQyMjg0LVc1bU82YjQtUjlHUExQRkdqbFBBamctMA" },
        { events[1].status, events[1].occurred_at, events[1].idempotency_key })
    end)

    it("reports a bounce as failed with its SMTP status, and never the server's reason text", function()
      local event = plugin.decode(fixture("fixtures/sendgrid-batch.json"), {})[3]
      assert.are.same({
        type = "message.status", idempotency_key = "sendgrid:Ym91bmNlLTAtMTA2NDIzMDEtcFBsVnQzUW1TWi1uM2U2RkwzcUd3QS0w",
        occurred_at = "2026-11-22T14:56:44Z", channel = "email", message_sid = "pPlVt3QmSZ-n3e6FL3qGwA",
        status = "failed", error_code = "5.1.1", ref = "37012:confirmation", appointment_id = "37012",
        kind = "confirmation", to = "m.okafor@example.net",
      }, event)
    end)

    it("reports a drop as failed without an error code (SendGrid gives only a reason)", function()
      local event = plugin.decode(fixture("fixtures/sendgrid-batch.json"), {})[4]
      assert.are.same({ "failed", "37020", "changed", "Kx0tN2b1TnGd8lq5aT4rVw" },
        { event.status, event.appointment_id, event.kind, event.message_sid })
      assert.is_nil(event.error_code)
    end)

    it("turns unsubscribe, group_unsubscribe and spamreport into opt-outs of the address", function()
      local events = plugin.decode(fixture("fixtures/sendgrid-batch.json"), {})
      assert.are.same({
        type = "patient.opted_out", idempotency_key = "sendgrid:Sdxl1IXYRmWz6DVn0Y3jnA", occurred_at = "2026-11-22T15:55:09Z",
        channel = "email", email = "t.brennan@example.org", keyword = "unsubscribe", message_sid = "bT9yQ2xWTkqkG1v0s8pHcA",
      }, events[5])
      assert.are.same({ "l.fischer@example.net", "group_unsubscribe" }, { events[6].email, events[6].keyword })
      assert.are.same({ "s.kowalski@example.com", "spamreport", "2026-11-22T16:01:59Z" },
        { events[7].email, events[7].keyword, events[7].occurred_at })
      for i = 5, 7 do assert.is_nil(events[i].phone) end
    end)

    it("turns group_resubscribe into an opt-in", function()
      assert.are.same({
        type = "patient.opted_in", idempotency_key = "sendgrid:Y2V4aFp0QkJ2U3dhRmlxZg", occurred_at = "2026-11-22T16:25:09Z",
        channel = "email", email = "l.fischer@example.net", keyword = "group_resubscribe", message_sid = "ZmC4dQ7eR0aGq2o3Lw9tXg",
      }, plugin.decode(fixture("fixtures/sendgrid-batch.json"), {})[8])
    end)

    it("carries nothing an open or click said (no user agent, IP or URL)", function()
      local encoded = json.encode(plugin.decode(fixture("fixtures/sendgrid-batch.json"), {}))
      for _, trace in ipairs({ "203.0.113.54", "iPhone", "appointments/36996", "Recipient address rejected", "Greylisted" }) do
        assert.is_nil(encoded:find(trace, 1, true), trace)
      end
    end)
  end)

  describe("one event", function()
    local items
    before_each(function() items = batch() end)

    it("open, click and deferred yield nothing", function()
      for _, i in ipairs({ 2, 4, 5 }) do assert.are.equal("[]", json.encode(one(items[i]))) end
    end)

    it("a delivery event without a ref yields nothing, an opt-out without one still counts", function()
      assert.are.equal("[]", json.encode(one(items[6])))
      items[3].ref = json.null
      assert.are.equal("[]", json.encode(one(items[3])))
      items[9].ref = nil
      assert.are.equal("patient.opted_out", one(items[9])[1].type)
    end)

    it("an event type SendGrid adds later is acknowledged and ignored", function()
      items[3].event = "account_status_change"
      assert.are.equal("[]", json.encode(one(items[3])))
    end)

    it("a blocked bounce without an SMTP status carries its type", function()
      items[7].status, items[7].type = nil, "blocked"
      assert.are.equal("blocked", one(items[7])[1].error_code)
    end)

    it("only failures carry an error code", function()
      items[3].status = "2.0.0"
      assert.is_nil(one(items[3])[1].error_code)
    end)

    it("splits the ref at its last colon, so an appointment id may hold one", function()
      items[3].ref = "north:36996:cancelled"
      assert.are.same({ "north:36996", "cancelled" }, { one(items[3])[1].appointment_id, one(items[3])[1].kind })
    end)

    it("takes a message id without a filter suffix whole", function()
      items[3].sg_message_id = "W5mO6b4-R9GPLPFGjlPAjg"
      assert.are.equal("W5mO6b4-R9GPLPFGjlPAjg", one(items[3])[1].message_sid)
    end)

    it("an opt-out without a message id has none", function()
      items[11].sg_message_id = nil
      local event = one(items[11])[1]
      assert.are.same({ "patient.opted_out", "s.kowalski@example.com" }, { event.type, event.email })
      assert.is_nil(event.message_sid)
    end)
  end)

  describe("refuses, permanently, naming the JSON path", function()
    local items
    before_each(function() items = batch() end)

    it("a body that is not a JSON array", function()
      assert.are.equal("$: the body is empty (expected a JSON array of SendGrid events)", refusal(function() plugin.decode("  ", {}) end))
      assert.are.equal("$: not JSON: unexpected end of input at byte 2", refusal(function() plugin.decode("[", {}) end))
      assert.are.equal("$: expected a JSON array of SendGrid events, got an object",
        refusal(function() plugin.decode(json.encode(items[1]), {}) end))
    end)

    it("an empty batch is no error", function()
      assert.are.equal("[]", json.encode(plugin.decode("[]", {})))
    end)

    it("an entry that is not an event object, or has no event name", function()
      assert.are.equal("$[1]: expected an event object, got null", refusal(function() decode({ items[1], json.null }) end))
      items[4].event = nil
      assert.are.equal("$[3].event: missing", refusal(function() decode(items) end))
    end)

    it("a bad timestamp, at its position in the batch", function()
      items[4].timestamp = "1795360559"
      items[3].timestamp = 1795359380.5
      assert.are.equal("$[2].timestamp: expected epoch seconds (a positive integer), got a float (1795359380.5)",
        refusal(function() decode(items) end))
      items[3].timestamp = nil
      assert.are.equal("$[2].timestamp: missing", refusal(function() decode(items) end))
    end)

    it("a missing event id or message id", function()
      items[7].sg_event_id = nil
      assert.are.equal("$[6].sg_event_id: missing", refusal(function() decode(items) end))
      items[7].sg_event_id = "bounce 1"
      assert.are.equal("$[6].sg_event_id: \"bounce 1\" is not a SendGrid event id", refusal(function() decode(items) end))
      items[7].sg_event_id, items[7].sg_message_id = "abc", ".filterdrecv-1"
      assert.are.equal("$[6].sg_message_id: \".filterdrecv-1\" does not start with a SendGrid message id (letters, digits, '_', '-' before the first '.')",
        refusal(function() decode(items) end))
      items[7].sg_message_id = nil
      assert.are.equal("$[6].sg_message_id: missing", refusal(function() decode(items) end))
    end)

    it("a ref that is not <appointment id>:<kind>", function()
      items[3].ref = "36996"
      assert.are.equal("$[2].ref: \"36996\" is not <appointment id>:<kind>", refusal(function() decode(items) end))
      items[3].ref = "36996:invoice"
      assert.are.equal("$[2].ref: kind \"invoice\" is not confirmation, changed, cancelled or reminder",
        refusal(function() decode(items) end))
      items[3].ref = 36996
      assert.are.equal("$[2].ref: expected a string, got an integer (36996)", refusal(function() decode(items) end))
    end)

    it("an address that is not one, without echoing it", function()
      items[3].email = "jane.doe at example.org"
      assert.are.equal("$[2].email: not an e-mail address (***(23 characters))", refusal(function() decode(items) end))
      items[3].email = "jane.doe@localhost"
      assert.are.equal("$[2].email: not an e-mail address (j***@localhost)", refusal(function() decode(items) end))
      items[3].email = nil
      assert.are.equal("$[2].email: missing", refusal(function() decode(items) end))
      items = batch()
      items[10].email = 42
      assert.are.equal("$[9].email: expected a string, got an integer (42)", refusal(function() decode(items) end))
    end)

    it("an error code that is no SMTP status", function()
      items[7].status = "550 <m.okafor@example.net> unknown"
      assert.are.equal("$[6].status: not an SMTP status (5.1.1) or bounce type (a string of 34 characters)",
        refusal(function() decode(items) end))
    end)
  end)

  it("masks an address to its first letter and domain", function()
    assert.are.equal("j***@example.org", plugin._mask("jane.doe@example.org"))
    assert.are.equal("***(6 characters)", plugin._mask("nobody"))
    assert.are.equal("?", plugin._mask(nil))
  end)
end)
