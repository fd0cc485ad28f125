local plugin = require("plugin")
local json = require("json")
local crypto = require("crypto")

describe("clearinghouse", function()
  local op, ctx, sent, answer

  local function respond(status, body, content_type)
    answer = { status = status, headers = { ["content-type"] = content_type or "application/json" }, body = body }
    if (content_type or "application/json") == "application/json" then
      local ok, decoded = pcall(json.decode, body)
      if ok then answer.json = decoded end
    end
  end

  before_each(function()
    op = fixture_json("fixtures/operation.json")
    ctx = { config = { url = "http://127.0.0.1:18090", api_key_secret = "clearinghouse/api_key" } }
    sent = {}
    respond(200, fixture("fixtures/response-accepted.json"))
    plugin._send = function(request)
      sent[#sent + 1] = request
      return answer
    end
  end)

  local function refuses(message)
    assert.has_error(function() plugin.deliver(op, ctx) end, { message = message, retryable = false })
  end

  describe("the request", function()
    it("POSTs the interchange to /x12/837 as application/edi-x12", function()
      plugin.deliver(op, ctx)
      assert.are.equal(1, #sent)
      local request = sent[1]
      assert.are.same({ "POST", "http://127.0.0.1:18090/x12/837", op.interchange, 20000 },
        { request.method, request.url, request.body, request.timeout_ms })
      assert.are.equal("application/edi-x12", request.headers["Content-Type"])
    end)

    it("authenticates with the API key as a secret handle, never its value", function()
      plugin.deliver(op, ctx)
      local authorization = sent[1].headers["Authorization"]
      assert.are_not.equal("string", type(authorization))
      assert.are.equal("Bearer secret(clearinghouse/api_key)", tostring(authorization))
    end)

    it("sends the same idempotency key for the same interchange", function()
      plugin.deliver(op, ctx)
      plugin.deliver(op, ctx)
      assert.are.equal("837-" .. crypto.sha256(op.interchange), sent[1].headers["Idempotency-Key"])
      assert.are.equal(sent[1].headers["Idempotency-Key"], sent[2].headers["Idempotency-Key"])
    end)

    it("joins a configured URL with a trailing slash cleanly", function()
      ctx.config.url = "https://claims.example.org/"
      plugin.deliver(op, ctx)
      assert.are.equal("https://claims.example.org/x12/837", sent[1].url)
    end)

    it("is not sent for a skipped (self-pay) operation", function()
      assert.are.same({ skipped = "self-pay: no claim" }, plugin.deliver({ skip = "self-pay: no claim" }, ctx))
      assert.are.equal(0, #sent)
    end)

    it("is not sent for a skip even without configuration", function()
      assert.are.same({ skipped = "self-pay: no claim" }, plugin.deliver({ skip = "self-pay: no claim" }, {}))
    end)
  end)

  describe("answers", function()
    it("200 accepted: the claim is accepted", function()
      assert.are.same({ claim_id = "svc-1001", accepted = true }, plugin.deliver(op, ctx))
    end)

    it("200 accepted, JSON in the body without a JSON content type", function()
      respond(200, fixture("fixtures/response-accepted.json"), "text/plain")
      assert.is_nil(answer.json)
      assert.are.same({ claim_id = "svc-1001", accepted = true }, plugin.deliver(op, ctx))
    end)

    it("422: a permanent error naming the claim and every error, the patient masked", function()
      respond(422, fixture("fixtures/response-rejected.json"))
      refuses("clearinghouse rejected claim svc-1001: NM1-IL-09: Subscriber [masked], [masked]: member id [masked] not found "
        .. "for payer payer-acme (segment 16, element 9); CLM05-1: place of service 11 is not covered under this plan")
    end)

    it("422 without JSON: the body's text, masked", function()
      respond(422, "rejected: subscriber Okafor not eligible", "text/plain")
      refuses("clearinghouse rejected claim svc-1001: rejected: subscriber [masked] not eligible")
    end)

    it("200 that does not accept: a rejection", function()
      respond(200, '{"accepted":false,"errors":["duplicate claim"]}')
      refuses("clearinghouse rejected claim svc-1001: duplicate claim")
      respond(200, '{"accepted":false}')
      refuses("clearinghouse rejected claim svc-1001: no errors given")
    end)

    it("200 accepting other claims: a permanent error", function()
      respond(200, '{"accepted":true,"claim_ids":["svc-0999"]}')
      refuses("clearinghouse accepted the interchange but its claim_ids [svc-0999] do not include claim svc-1001")
    end)

    it("200 without claim_ids: accepted", function()
      respond(200, '{"accepted":true}')
      assert.are.same({ claim_id = "svc-1001", accepted = true }, plugin.deliver(op, ctx))
    end)

    it("200 without JSON: a permanent error", function()
      respond(200, "OK", "text/plain")
      refuses("clearinghouse answered 200 for claim svc-1001 without a JSON object: OK")
    end)

    it("401 or 403: refused credentials", function()
      respond(401, '{"error":"invalid token"}')
      refuses("clearinghouse refused the credentials (HTTP 401) for claim svc-1001; check the secret clearinghouse/api_key")
      respond(403, "")
      refuses("clearinghouse refused the credentials (HTTP 403) for claim svc-1001; check the secret clearinghouse/api_key")
    end)

    it("another status: a permanent error with the body", function()
      respond(400, '{"error":"malformed ISA"}')
      refuses('clearinghouse answered HTTP 400 for claim svc-1001: {"error":"malformed ISA"}')
    end)

    it("a long error body is shortened", function()
      respond(400, string.rep("x", 5000), "text/plain")
      local ok, err = pcall(plugin.deliver, op, ctx)
      assert.is_false(ok)
      assert.are.equal(#"clearinghouse answered HTTP 400 for claim svc-1001: " + 1000 + #"…", #err.message)
    end)

    it("429 and 5xx: http.request's retryable error goes through unchanged", function()
      local raised = { message = "http.request: http://127.0.0.1:18090 answered 503", retryable = true, retry_after_ms = 2000, status = 503 }
      plugin._send = function() error(raised, 0) end
      assert.has_error(function() plugin.deliver(op, ctx) end, raised)
    end)

    it("no answer (timeout): the retryable error goes through unchanged", function()
      local raised = { message = "http.request: timed out after 20000 ms", retryable = true }
      plugin._send = function() error(raised, 0) end
      assert.has_error(function() plugin.deliver(op, ctx) end, raised)
    end)
  end)

  describe("refuses", function()
    it("an operation that is not an object", function()
      assert.has_error(function() plugin.deliver("ISA*00", ctx) end,
        { message = 'operation: expected an object, got the string "ISA*00"', retryable = false })
    end)

    it("an operation without an interchange", function()
      op.interchange = nil
      refuses("$.interchange: expected an X12 interchange starting with a 106-character ISA, got missing")
      op.interchange = "GS*HC*NSCLINICS~"
      refuses('$.interchange: expected an X12 interchange starting with a 106-character ISA, got the string "GS*HC*NSCLINICS~"')
      assert.are.equal(0, #sent)
    end)

    it("an operation without a claim id", function()
      op.claim_id = 1001
      refuses("$.claim_id: expected the claim's id, got a number (1001)")
    end)

    it("a skip that is not a reason", function()
      op.skip = true
      refuses("$.skip: expected the reason nothing is sent, got a boolean (true)")
    end)

    it("a missing configuration, naming the field", function()
      ctx = {}
      refuses("ctx.config: missing; the catalog entry's config: block must give url and api_key_secret")
      ctx = { config = { api_key_secret = "clearinghouse/api_key" } }
      refuses("ctx.config.url: expected the clearinghouse origin like https://claims.example.org, got missing")
      ctx.config.url = "claims.example.org"
      refuses('ctx.config.url: expected the clearinghouse origin like https://claims.example.org, got the string "claims.example.org"')
      ctx.config.url = "https://claims.example.org"
      ctx.config.api_key_secret = nil
      refuses("ctx.config.api_key_secret: expected the name of the API key secret, got missing")
      assert.are.equal(0, #sent)
    end)
  end)

  describe("masking", function()
    it("finds the subscriber's names, member id, address and birth date, not the provider's or payer's", function()
      local values = plugin._personal_values(op.interchange)
      table.sort(values)
      assert.are.same({ "19840317", "77 JUNIPER WAY", "80631", "GREELEY", "MARIA", "OKAFOR", "XJH884120937" }, values)
    end)

    it("masks in any letter case", function()
      assert.are.equal("[masked], [masked] ([masked])", plugin._mask("Okafor, MARIA (xjh884120937)", { "OKAFOR", "MARIA", "XJH884120937" }))
    end)
  end)
end)
