local plugin = require("plugin")
local json = require("json")

describe("messaging-status decode", function()
  local ctx

  before_each(function()
    plugin._now = function() return "2026-11-20T17:05:00Z" end
    ctx = { request = { query = { ref = "36996:confirmation" } }, config = { account_sid = "AC00000000000000000000000000000001" } }
  end)

  local function inbound(body_text, extra)
    local body = "MessageSid=SM9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a3&From=%2B15555550123&To=%2B15555550100&AccountSid=AC00000000000000000000000000000001&Body="
      .. body_text
    return plugin.decode(body .. (extra or ""), { request = { query = {} } })
  end

  describe("status callbacks", function()
    it("become message.status naming the appointment and the kind from the callback's ref", function()
      assert.are.same({ {
        type = "message.status", idempotency_key = "twilio:SM1f0e2d3c4b5a69788796a5b4c3d2e1f0:delivered",
        occurred_at = "2026-11-20T17:05:00Z", message_sid = "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0", status = "delivered",
        ref = "36996:confirmation", appointment_id = "36996", kind = "confirmation", to = "+15555550123",
      } }, plugin.decode(fixture("fixtures/status-delivered.form"), ctx))
    end)

    it("carry the provider's error code as a number", function()
      ctx.request.query.ref = "36996:reminder"
      local event = plugin.decode(fixture("fixtures/status-undelivered.form"), ctx)[1]
      assert.are.same({ "undelivered", 30003, "reminder", "twilio:SM2a0e2d3c4b5a69788796a5b4c3d2e1f0:undelivered" },
        { event.status, event.error_code, event.kind, event.idempotency_key })
    end)

    it("give each status of one message its own key", function()
      local sent = fixture("fixtures/status-delivered.form"):gsub("=delivered", "=sent")
      assert.are_not.equal(plugin.decode(sent, ctx)[1].idempotency_key, plugin.decode(fixture("fixtures/status-delivered.form"), ctx)[1].idempotency_key)
    end)

    it("split the ref at its last colon, so an appointment id may hold one", function()
      ctx.request.query.ref = "north:36996:cancelled"
      local event = plugin.decode(fixture("fixtures/status-delivered.form"), ctx)[1]
      assert.are.same({ "north:36996", "cancelled" }, { event.appointment_id, event.kind })
    end)

    it("are ignored (an empty list) without a ref: not one of our appointment messages", function()
      ctx.request.query = {}
      assert.are.equal("[]", json.encode(plugin.decode(fixture("fixtures/status-delivered.form"), ctx)))
      ctx.request = nil
      assert.are.equal("[]", json.encode(plugin.decode(fixture("fixtures/status-delivered.form"), ctx)))
    end)

    it("refuse a ref that is not <appointment id>:<kind>", function()
      ctx.request.query.ref = "36996"
      assert.has_error(function() plugin.decode(fixture("fixtures/status-delivered.form"), ctx) end,
        "query parameter ref: \"36996\" is not <appointment id>:<kind>")
      ctx.request.query.ref = "36996:invoice"
      assert.has_error(function() plugin.decode(fixture("fixtures/status-delivered.form"), ctx) end,
        "query parameter ref: kind \"invoice\" is not confirmation, changed, cancelled or reminder")
    end)

    it("refuse an unknown status or error code, naming the field", function()
      assert.has_error(function() plugin.decode(fixture("fixtures/status-delivered.form"):gsub("MessageStatus=delivered", "MessageStatus=lost"), ctx) end,
        "MessageStatus: \"lost\" is not a message status the provider sends")
      assert.has_error(function() plugin.decode(fixture("fixtures/status-undelivered.form"):gsub("ErrorCode=30003", "ErrorCode=E30"), ctx) end,
        "ErrorCode: \"E30\" is not a numeric error code")
    end)

    it("refuse another account's callback", function()
      ctx.config.account_sid = "AC99999999999999999999999999999999"
      assert.has_error(function() plugin.decode(fixture("fixtures/status-delivered.form"), ctx) end,
        "AccountSid: \"AC00000000000000000000000000000001\" is not this entry's account (config.account_sid)")
    end)

    it("refuse a missing or malformed MessageSid", function()
      assert.has_error(function() plugin.decode("MessageStatus=sent&To=%2B15555550123", ctx) end, "AccountSid: missing from the provider's request")
      ctx.config = nil
      assert.has_error(function() plugin.decode("MessageStatus=sent&To=%2B15555550123", ctx) end, "MessageSid: missing from the provider's request")
      assert.has_error(function() plugin.decode("MessageStatus=sent&MessageSid=XX12", ctx) end, "MessageSid: \"XX12\" is not a message SID (SM… or MM…)")
    end)
  end)

  describe("inbound replies", function()
    it("STOP (any case, spaces around) opts the number out", function()
      assert.are.same({ {
        type = "patient.opted_out", idempotency_key = "twilio:SM9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a3:received",
        occurred_at = "2026-11-20T17:05:00Z", phone = "+15555550123", keyword = "STOP", message_sid = "SM9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a3",
      } }, plugin.decode(fixture("fixtures/inbound-stop.form"), {}))
    end)

    it("knows every opt-out keyword", function()
      for _, word in ipairs({ "STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT" }) do
        assert.are.equal("patient.opted_out", inbound(word)[1].type, word)
      end
    end)

    it("START, YES and UNSTOP opt back in", function()
      for _, word in ipairs({ "START", "yes", "Unstop" }) do
        local event = inbound(word)[1]
        assert.are.same({ "patient.opted_in", "+15555550123", word:upper() }, { event.type, event.phone, event.keyword })
      end
    end)

    it("a keyword counts only as the whole message", function()
      assert.are.equal("[]", json.encode(inbound("please+stop")))
      assert.are.equal("[]", json.encode(inbound("STOP+IT")))
    end)

    it("Advanced Opt-Out's OptOutType decides when present", function()
      assert.are.equal("patient.opted_out", inbound("ARRET", "&OptOutType=STOP")[1].type)
      assert.are.equal("patient.opted_in", inbound("Oui", "&OptOutType=START")[1].type)
      assert.are.equal("[]", json.encode(inbound("HELP", "&OptOutType=HELP")))
    end)

    it("HELP and other text are acknowledged and ignored", function()
      assert.are.equal("[]", json.encode(inbound("HELP")))
      assert.are.equal("[]", json.encode(inbound("what+time+is+my+visit%3F")))
    end)

    it("C without a ref is ignored: the reply does not say which appointment it confirms", function()
      assert.are.equal("[]", json.encode(plugin.decode(fixture("fixtures/inbound-confirm.form"), {})))
      assert.are.equal("[]", json.encode(inbound("confirm")))
    end)

    it("C with a ref confirms that appointment", function()
      ctx.request.query.ref = "36996:reminder"
      assert.are.same({ {
        type = "appointment.confirmed_by_patient", idempotency_key = "twilio:SM7d6c5b4a39f8e7d6c5b4a3928170615f:received",
        occurred_at = "2026-11-20T17:05:00Z", phone = "+15555550123", keyword = "C", message_sid = "SM7d6c5b4a39f8e7d6c5b4a3928170615f",
        appointment_id = "36996", ref = "36996:reminder", kind = "reminder",
      } }, plugin.decode(fixture("fixtures/inbound-confirm.form"), ctx))
    end)

    it("refuses a From that is not E.164 without echoing the number", function()
      assert.has_error(function() plugin.decode("MessageSid=SM1&From=5550123&Body=STOP", {}) end,
        "From: expected an E.164 number, got one ending ***0123")
    end)
  end)

  it("refuses a body that is neither a callback nor a reply", function()
    assert.has_error(function() plugin.decode("MessageSid=SM1&From=%2B15555550123", {}) end,
      "MessageStatus: missing, and no Body either: neither a status callback nor an inbound message")
  end)
end)
