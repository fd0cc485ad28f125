local plugin = require("plugin")
local json = require("json")

describe("messaging deliver", function()
  local op, ctx, sent, answer, ledger

  local function respond(status, body)
    answer = { status = status, headers = { ["content-type"] = "application/json" }, body = body }
    local ok, decoded = pcall(json.decode, body)
    if ok then answer.json = decoded end
  end

  before_each(function()
    op = fixture_json("fixtures/send-confirmation.json")
    ctx = { config = { url = "http://127.0.0.1:18095", account_sid = "AC00000000000000000000000000000001",
                       from = "+15555550100", status_callback_url = "http://127.0.0.1:8080/ingest/messaging-status" } }
    sent, ledger = {}, {}
    respond(201, fixture("fixtures/response-201.json"))
    plugin._send = function(request)
      sent[#sent + 1] = request
      if type(answer) == "function" then return answer(request) end
      return answer
    end
    plugin._ledger_get = function(key) local v = ledger[key]; return v and json.decode(v) or nil end
    plugin._ledger_put = function(key, value) ledger[key] = json.encode(value); return true end
  end)

  local function refuses(message)
    assert.has_error(function() plugin.deliver(op, ctx) end, { message = message, retryable = false })
  end

  local function defers(message)
    assert.has_error(function() plugin.deliver(op, ctx) end, { message = message, retryable = true })
  end

  local function form_fields(body)
    local fields = {}
    for pair in body:gmatch("[^&]+") do
      local name, value = pair:match("^([^=]*)=(.*)$")
      fields[#fields + 1] = name
    end
    return fields
  end

  describe("the request", function()
    it("POSTs to the account's Messages.json, form-encoded", function()
      plugin.deliver(op, ctx)
      assert.are.equal(1, #sent)
      assert.are.same({ "POST", "http://127.0.0.1:18095/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json",
                        "application/x-www-form-urlencoded", 15000 },
        { sent[1].method, sent[1].url, sent[1].headers["Content-Type"], sent[1].timeout_ms })
    end)

    it("sends To, From, Body and StatusCallback with the reference in its query, in that order", function()
      plugin.deliver(op, ctx)
      assert.are.equal(
        "To=%2B15555550123&From=%2B15555550100"
        .. "&Body=Northside+Clinic+-+North%3A+your+appointment+is+booked+for+Mon+Nov+23+at+9%3A15+AM.+Reply+C+to+confirm%2C+STOP+to+opt+out.+Questions%3A+%28555%29+555-0100"
        .. "&StatusCallback=http%3A%2F%2F127.0.0.1%3A8080%2Fingest%2Fmessaging-status%3Fref%3D36996%253Aconfirmation",
        sent[1].body)
    end)

    it("uses the Messaging Service instead of a number when configured", function()
      ctx.config.from, ctx.config.messaging_service_sid = nil, "MG00000000000000000000000000000002"
      plugin.deliver(op, ctx)
      assert.are.same({ "To", "MessagingServiceSid", "Body", "StatusCallback" }, form_fields(sent[1].body))
    end)

    it("leaves StatusCallback out when none is configured", function()
      ctx.config.status_callback_url = nil
      plugin.deliver(op, ctx)
      assert.are.same({ "To", "From", "Body" }, form_fields(sent[1].body))
    end)

    it("authenticates with HTTP Basic over the account SID and the auth token secret, never its value", function()
      plugin.deliver(op, ctx)
      local authorization = sent[1].headers["Authorization"]
      assert.are_not.equal("string", type(authorization))
      local shown = tostring(authorization)
      assert.matches("^Basic ", shown)
      assert.matches("messaging/auth_token", shown)
      assert.matches("AC00000000000000000000000000000001", shown)
    end)

    it("takes another secret name from config.auth_token_secret", function()
      ctx.config.auth_token_secret = "messaging/auth_token_2027"
      plugin.deliver(op, ctx)
      assert.matches("messaging/auth_token_2027", tostring(sent[1].headers["Authorization"]))
    end)

    it("appends the reference to a callback URL that already has a query", function()
      assert.are.equal("https://hooks.example/sms?source=twilio&ref=a%2Fb%3Ac%20d",
        plugin._callback_url("https://hooks.example/sms?source=twilio", "a/b:c d"))
    end)
  end)

  describe("the answer", function()
    it("is the message's sid and status", function()
      assert.are.same({ sid = "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0", status = "queued", key = op.key, ref = "36996:confirmation" },
        plugin.deliver(op, ctx))
    end)

    it("is recorded per key, so a redelivery does not text the patient twice", function()
      plugin.deliver(op, ctx)
      local again = plugin.deliver(fixture_json("fixtures/send-confirmation.json"), ctx)
      assert.are.equal(1, #sent)
      assert.are.same({ sid = "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0", status = "queued", key = op.key, ref = "36996:confirmation",
                        duplicate = true }, again)
    end)

    it("keeps the phone out of the ledger but for its last four digits", function()
      plugin.deliver(op, ctx)
      local entry = json.decode(ledger["sent:" .. op.key])
      assert.are.equal("***0123", entry.to)
      assert.is_nil(ledger["sent:" .. op.key]:find("5555550123", 1, true))
      assert.is_nil(ledger["sent:" .. op.key]:find("Northside", 1, true))
    end)

    it("records nothing when the send failed, so the retry sends", function()
      respond(400, fixture("fixtures/error-21211.json"))
      assert.is_false((pcall(plugin.deliver, op, ctx)))
      assert.are.same({}, ledger)
    end)

    it("sends a different key even to the same number", function()
      plugin.deliver(op, ctx)
      op.key = "36996:reminder:2026-11-23T09:15:00-05:00"
      plugin.deliver(op, ctx)
      assert.are.equal(2, #sent)
    end)

    it("records an acceptance without a sid, so it is not sent again", function()
      respond(201, "{}")
      assert.are.same({ sid = json.null, status = "queued", key = op.key, ref = op.ref }, plugin.deliver(op, ctx))
      plugin.deliver(op, ctx)
      assert.are.equal(1, #sent)
    end)
  end)

  describe("errors", function()
    it("21610: the recipient opted out, permanent", function()
      respond(400, fixture("fixtures/error-21610.json"))
      refuses("SMS 36996:confirmation to ***0123 not sent: recipient has opted out (Twilio 21610)")
    end)

    it("21211, 21408, 21612, 21614: permanent, named", function()
      respond(400, fixture("fixtures/error-21211.json"))
      refuses("SMS 36996:confirmation to ***0123 not sent: invalid 'To' phone number (Twilio 21211)")
      respond(400, '{"code":21408,"message":"Permission to send an SMS has not been enabled for the region indicated by the \'To\' number","status":400}')
      refuses("SMS 36996:confirmation to ***0123 not sent: sending to this region is not enabled (Twilio 21408)")
      respond(400, '{"code":21612,"message":"The \'To\' phone number is not currently reachable","status":400}')
      refuses("SMS 36996:confirmation to ***0123 not sent: the 'To' number cannot be reached from this sender (Twilio 21612)")
      respond(400, '{"code":21614,"message":"\'To\' number is not a valid mobile number","status":400}')
      refuses("SMS 36996:confirmation to ***0123 not sent: the 'To' number is not a mobile number (Twilio 21614)")
    end)

    it("429 / 20429: retryable", function()
      respond(429, fixture("fixtures/error-20429.json"))
      defers("SMS 36996:confirmation to ***0123 not sent: provider busy, too many requests (HTTP 429, Twilio 20429)")
    end)

    it("5xx: retryable", function()
      respond(503, '{"code":20503,"message":"Service Unavailable","status":503}')
      defers("SMS 36996:confirmation to ***0123 not sent: provider answered HTTP 503 (Twilio 20503)")
      respond(502, "<html>Bad Gateway</html>")
      defers("SMS 36996:confirmation to ***0123 not sent: provider answered HTTP 502")
    end)

    it("a timeout or refused connection stays retryable, as http.request raised it", function()
      local raised = { message = "http.request: timed out after 15000 ms", retryable = true }
      plugin._send = function() error(raised, 0) end
      assert.has_error(function() plugin.deliver(op, ctx) end, raised)
      assert.are.same({}, ledger)
    end)

    it("401: permanent, naming the secret", function()
      respond(401, '{"code":20003,"message":"Authenticate","status":401}')
      refuses("SMS 36996:confirmation to ***0123 not sent: the provider refused the credentials (HTTP 401, Twilio 20003); check config.account_sid and the secret messaging/auth_token")
    end)

    it("another 4xx: permanent, with the provider's text and phone numbers masked", function()
      respond(400, '{"code":21606,"message":"The From phone number +15555550100 is not a valid, SMS-capable inbound phone number","status":400}')
      refuses("SMS 36996:confirmation to ***0123 not sent: HTTP 400 Twilio 21606: The From phone number ***0100 is not a valid, SMS-capable inbound phone number")
    end)
  end)

  describe("operations it refuses before sending", function()
    it("a To that is not E.164, without echoing the number", function()
      op.to = "555-555-0123"
      refuses("$.to: expected an E.164 number like +15555550123, got a number ending ***0123")
      assert.are.equal(0, #sent)
    end)

    it("a body over 1600 characters (counted as characters, not bytes)", function()
      op.body = string.rep("é", 1600)
      assert.has_no.errors(function() plugin.deliver(op, ctx) end)
      op.key, op.body = op.key .. "-2", string.rep("a", 1601)
      refuses("$.body: 1601 characters; the provider takes at most 1600")
    end)

    it("another channel or op", function()
      op.channel = "fax"
      refuses("$.channel: expected \"sms\" or \"email\", got the string \"fax\"")
      op.channel, op.op = "sms", "upsert"
      refuses("$.op: expected \"send\", got the string \"upsert\"")
    end)

    it("a missing key", function()
      op.key = nil
      refuses("$.key: expected a non-empty string of at most 400 bytes, got missing")
    end)

    it("configuration that is missing or ambiguous", function()
      ctx.config.messaging_service_sid = "MG00000000000000000000000000000002"
      refuses("ctx.config: give exactly one of from (a number) and messaging_service_sid")
      ctx.config = nil
      refuses("ctx.config: missing; the catalog entry's config: block must give url, account_sid, from or messaging_service_sid, status_callback_url")
      ctx.config = { url = "http://127.0.0.1:18095", account_sid = "12345", from = "+15555550100" }
      refuses("ctx.config.account_sid: expected the account SID (AC…), got the string \"12345\"")
    end)
  end)

  describe("skips and lists", function()
    it("sends nothing for a skip, even without configuration", function()
      assert.are.same({ skipped = "no SMS consent on record for the patient (consent.sms is not true)" },
        plugin.deliver({ skip = "no SMS consent on record for the patient (consent.sms is not true)" }, {}))
      assert.are.equal(0, #sent)
    end)

    it("runs a list of operations in order, an empty list sending nothing", function()
      assert.are.equal("{\"results\":[]}", json.encode(plugin.deliver({ operations = json.array({}) }, {})))
      local second = fixture_json("fixtures/send-confirmation.json")
      second.key = "36996:reminder:x"
      local results = plugin.deliver({ operations = { op, { skip = "past" }, second } }, ctx).results
      assert.are.same({ "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0", "past", "36996:reminder:x" },
        { results[1].sid, results[2].skipped, results[3].key })
      assert.are.equal(2, #sent)
    end)

    it("names the position of a bad operation in a list", function()
      assert.has_error(function() plugin.deliver({ operations = { op, { op = "send", channel = "sms" } } }, ctx) end,
        { message = "$.operations[2].key: expected a non-empty string of at most 400 bytes, got missing", retryable = false })
    end)
  end)
end)
