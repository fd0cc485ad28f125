local plugin = require("plugin")
local json = require("json")

describe("messaging deliver, e-mail", function()
  local op, ctx, sent, answer, ledger

  -- SendGrid's answers: 202 with an empty body and X-Message-Id; errors as JSON.
  local function respond(status, body, headers)
    answer = { status = status, headers = headers or { ["content-type"] = "application/json" }, body = body or "" }
    local ok, decoded = pcall(json.decode, answer.body)
    if ok and answer.headers["content-type"] == "application/json" then answer.json = decoded end
  end

  local function accepted(id)
    respond(202, "", { ["x-message-id"] = id, ["content-length"] = "0" })
  end

  before_each(function()
    op = fixture_json("fixtures/send-email-confirmation.json")
    ctx = { config = { email_url = "http://127.0.0.1:18095", email_from = "appointments@northside-clinics.example",
                       email_from_name = "Northside Clinics" } }
    sent, ledger = {}, {}
    accepted("W3Kh5xTQS8uH0b2nVj4X7g")
    plugin._send = function(request)
      sent[#sent + 1] = request
      return answer
    end
    plugin._ledger_get = function(key) local v = ledger[key]; return v and json.decode(v) or nil end
    plugin._ledger_put = function(key, value) ledger[key] = json.encode(value); return true end
  end)

  local function refuses(message)
    assert.has_error(function() plugin.deliver(op, ctx) end, { message = message, retryable = false })
  end

  describe("the request", function()
    it("POSTs JSON to email_url/v3/mail/send, answering 429 and 5xx itself", function()
      plugin.deliver(op, ctx)
      assert.are.equal(1, #sent)
      assert.are.same({ "POST", "http://127.0.0.1:18095/v3/mail/send", "application/json", 15000, false },
        { sent[1].method, sent[1].url, sent[1].headers["Content-Type"], sent[1].timeout_ms, sent[1].raise })
    end)

    it("sends the recipient, the ref as custom_args, the sender, the subject and the text", function()
      plugin.deliver(op, ctx)
      assert.are.same({
        personalizations = { { to = { { email = "m.okafor@example.org" } }, custom_args = { ref = "36996:confirmation" } } },
        from = { email = "appointments@northside-clinics.example", name = "Northside Clinics" },
        subject = "Northside Clinic - North: your appointment",
        content = { { type = "text/plain", value = op.body } },
        tracking_settings = {
          subscription_tracking = { enable = true },
          open_tracking = { enable = false },
          click_tracking = { enable = false, enable_text = false },
        },
      }, json.decode(sent[1].body))
    end)

    it("keeps the JSON arrays arrays", function()
      plugin.deliver(op, ctx)
      assert.matches('"personalizations":%[{', sent[1].body)
      assert.matches('"to":%[{"email":"m%.okafor@example%.org"}%]', sent[1].body)
      assert.matches('"content":%[{"type":"text/plain"', sent[1].body)
    end)

    it("authenticates with a bearer token from the secret, never its value", function()
      plugin.deliver(op, ctx)
      local authorization = sent[1].headers["Authorization"]
      assert.are_not.equal("string", type(authorization))
      assert.are.equal("Bearer secret(messaging/sendgrid_api_key)", tostring(authorization))
      ctx.config.email_api_key_secret = "messaging/sendgrid_api_key_2027"
      op.key = op.key .. "-2"
      plugin.deliver(op, ctx)
      assert.are.equal("Bearer secret(messaging/sendgrid_api_key_2027)", tostring(sent[2].headers["Authorization"]))
    end)

    it("leaves out the sender's name and custom_args when there are none", function()
      ctx.config.email_from_name, op.ref = nil, nil
      plugin.deliver(op, ctx)
      local body = json.decode(sent[1].body)
      assert.are.same({ email = "appointments@northside-clinics.example" }, body.from)
      assert.is_nil(body.personalizations[1].custom_args)
    end)

    it("needs no SMS settings, and an SMS needs no e-mail settings", function()
      assert.are.equal("accepted", plugin.deliver(op, ctx).status)
      local sms = fixture_json("fixtures/send-confirmation.json")
      sms.key = "36996:reminder:2026-11-23T09:15:00-05:00"
      respond(201, fixture("fixtures/response-201.json"))
      assert.has_error(function() plugin.deliver(sms, ctx) end,
        { message = "ctx.config.url: expected the provider's origin like https://api.twilio.com, got missing", retryable = false })
      local sms_only = { config = { url = "http://127.0.0.1:18095", account_sid = "AC00000000000000000000000000000001", from = "+15555550100" } }
      assert.are.equal("SM1f0e2d3c4b5a69788796a5b4c3d2e1f0", plugin.deliver(sms, sms_only).sid)
    end)
  end)

  describe("the answer", function()
    it("is the X-Message-Id, accepted, with the channel", function()
      assert.are.same({ message_id = "W3Kh5xTQS8uH0b2nVj4X7g", status = "accepted", key = op.key, ref = "36996:confirmation", channel = "email" },
        plugin.deliver(op, ctx))
    end)

    it("is recorded per key, so a redelivery does not e-mail the patient twice", function()
      plugin.deliver(op, ctx)
      local again = plugin.deliver(fixture_json("fixtures/send-email-confirmation.json"), ctx)
      assert.are.equal(1, #sent)
      assert.are.same({ message_id = "W3Kh5xTQS8uH0b2nVj4X7g", status = "accepted", key = op.key, ref = "36996:confirmation",
                        channel = "email", duplicate = true }, again)
    end)

    it("keeps the address out of the ledger but for its first character and domain, and the text out entirely", function()
      plugin.deliver(op, ctx)
      local raw = ledger["sent:" .. op.key]
      assert.are.equal("m***@example.org", json.decode(raw).to)
      assert.is_nil(raw:find("okafor", 1, true))
      assert.is_nil(raw:find("Northside", 1, true))
    end)

    it("records an acceptance without X-Message-Id, so it is not sent again", function()
      respond(202, "", {})
      assert.are.same({ message_id = json.null, status = "accepted", key = op.key, ref = op.ref, channel = "email" }, plugin.deliver(op, ctx))
      assert.are.equal(json.null, plugin.deliver(op, ctx).message_id)
      assert.are.equal(1, #sent)
    end)

    it("records nothing when the send failed, so the retry sends", function()
      respond(400, fixture("fixtures/email-error-400.json"))
      assert.is_false((pcall(plugin.deliver, op, ctx)))
      respond(503, "")
      assert.is_false((pcall(plugin.deliver, op, ctx)))
      assert.are.same({}, ledger)
    end)
  end)

  describe("errors", function()
    it("400: permanent, with the provider's message and field", function()
      respond(400, fixture("fixtures/email-error-400.json"))
      refuses("E-mail 36996:confirmation to m***@example.org not sent: HTTP 400: Does not contain a valid address. (field personalizations.0.to.0.email)")
    end)

    it("400 with several errors: all of them, addresses masked", function()
      respond(400, '{"errors":[{"message":"The to email m.okafor@example.org is on a suppression list","field":"personalizations.0.to","help":null},'
        .. '{"message":"The from address does not match a verified Sender Identity.","field":"from","help":null}]}')
      refuses("E-mail 36996:confirmation to m***@example.org not sent: HTTP 400: The to email m***@example.org is on a suppression list (field personalizations.0.to); "
        .. "The from address does not match a verified Sender Identity. (field from)")
    end)

    it("413: permanent", function()
      respond(413, fixture("fixtures/email-error-413.json"))
      refuses("E-mail 36996:confirmation to m***@example.org not sent: HTTP 413: The JSON payload you have included in your request is too large. (field content)")
    end)

    it("401 and 403: permanent, naming the secret", function()
      respond(401, fixture("fixtures/email-error-401.json"))
      refuses("E-mail 36996:confirmation to m***@example.org not sent: the provider refused the API key (HTTP 401: The provided authorization grant is invalid, expired, or revoked); check the secret messaging/sendgrid_api_key")
      respond(403, '{"errors":[{"field":null,"message":"access forbidden","help":null}]}')
      refuses("E-mail 36996:confirmation to m***@example.org not sent: the provider refused the API key (HTTP 403: access forbidden); check the secret messaging/sendgrid_api_key")
    end)

    it("429: retryable, after the provider's Retry-After", function()
      respond(429, fixture("fixtures/email-error-429.json"), { ["content-type"] = "application/json", ["retry-after"] = "30" })
      assert.has_error(function() plugin.deliver(op, ctx) end,
        { message = "E-mail 36996:confirmation to m***@example.org not sent: provider busy, too many requests (HTTP 429)", retryable = true, retry_after_ms = 30000 })
    end)

    it("5xx: retryable, with Retry-After when given", function()
      respond(503, "", { ["retry-after"] = "5" })
      assert.has_error(function() plugin.deliver(op, ctx) end,
        { message = "E-mail 36996:confirmation to m***@example.org not sent: provider answered HTTP 503", retryable = true, retry_after_ms = 5000 })
      respond(500, '{"errors":[{"field":null,"message":"internal error","help":null}]}')
      assert.has_error(function() plugin.deliver(op, ctx) end,
        { message = "E-mail 36996:confirmation to m***@example.org not sent: provider answered HTTP 500", retryable = true })
    end)

    it("a timeout stays retryable, as http.request raised it", function()
      local raised = { message = "http.request: timed out after 15000 ms", retryable = true }
      plugin._send = function() error(raised, 0) end
      assert.has_error(function() plugin.deliver(op, ctx) end, raised)
    end)
  end)

  describe("operations it refuses before sending", function()
    it("a To that is not an address, without echoing it", function()
      op.to = "m.okafor at example.org"
      refuses("$.to: expected an e-mail address like name@example.org, got a string that is not one")
      op.to = "+15555550123"
      refuses("$.to: expected an e-mail address like name@example.org, got a string that is not one")
      assert.are.equal(0, #sent)
    end)

    it("a missing subject, or one that would break into a second header line", function()
      op.subject = nil
      refuses("$.subject: expected the subject line, got missing")
      op.subject = "Your appointment\r\nBcc: everyone@example.org"
      refuses("$.subject: one line without control characters (a CR or LF would start a header)")
      assert.are.equal(0, #sent)
    end)

    it("a missing body", function()
      op.body = ""
      refuses("$.body: expected the message text, got the string \"\"")
    end)

    it("configuration that is missing or wrong", function()
      ctx.config = nil
      refuses("ctx.config: missing; the catalog entry's config: block must give email_url, email_from, email_from_name")
      ctx.config = { email_url = "127.0.0.1:18095", email_from = "appointments@northside-clinics.example" }
      refuses("ctx.config.email_url: expected the e-mail provider's origin like https://api.sendgrid.com, got the string \"127.0.0.1:18095\"")
      ctx.config = { email_url = "http://127.0.0.1:18095", email_from = "Northside Clinics" }
      refuses("ctx.config.email_from: expected the sender's address like appointments@northside-clinics.example, got the string \"Northside Clinics\"")
    end)
  end)

  describe("masking", function()
    it("masks an address to its first character and domain", function()
      assert.are.equal("j***@example.org", plugin._mask_email("jane.doe@example.org"))
      assert.are.equal("***", plugin._mask_email("not an address"))
    end)

    it("masks addresses and numbers in provider text", function()
      assert.are.equal("j***@example.org bounced; call ***0100", plugin._mask_text("jane+clinic@example.org bounced; call +1 555 555 0100"))
    end)
  end)
end)
