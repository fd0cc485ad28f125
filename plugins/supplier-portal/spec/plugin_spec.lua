local plugin = require("plugin")
local json = require("json")

describe("supplier-portal", function()
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
    ctx = { config = { url = "http://127.0.0.1:18096", api_key_secret = "supplier/api_key" } }
    sent = {}
    respond(201, fixture("fixtures/response-201.json"))
    plugin._send = function(request)
      sent[#sent + 1] = request
      if type(answer) == "function" then return answer(request) end
      return answer
    end
  end)

  local function refuses(message)
    assert.has_error(function() plugin.deliver(op, ctx) end, { message = message, retryable = false })
  end

  describe("the request", function()
    it("POSTs the order as JSON to /api/v1/orders", function()
      plugin.deliver(op, ctx)
      assert.are.equal(1, #sent)
      local request = sent[1]
      assert.are.same({ "POST", "http://127.0.0.1:18096/api/v1/orders", 15000 }, { request.method, request.url, request.timeout_ms })
      assert.are.same({
        order_ref = "P00012", buyer = "northside-clinics", site = "north",
        ship_to = "Northside Clinics North, receiving dock, 1200 North Ave, Springfield IL 62702", requested_date = "2026-11-22",
        lines = { { sku = "GLV-NIT-M", quantity = 2, unit_price = 9.5 }, { sku = "NDL-23G", quantity = 1, unit_price = 14.0 } },
      }, request.json)
      assert.is_nil(request.body)
    end)

    it("sends exactly the contract's fields, nothing the mapping added", function()
      op.order.patient = "MRN-0047711"
      op.order.lines[1].note = "x"
      plugin.deliver(op, ctx)
      assert.is_nil(json.encode(sent[1].json):find("MRN", 1, true))
      assert.is_nil(sent[1].json.lines[1].note)
    end)

    it("authenticates with the API key as a secret handle, never its value", function()
      plugin.deliver(op, ctx)
      local authorization = sent[1].headers["Authorization"]
      assert.are_not.equal("string", type(authorization))
      assert.are.equal("Bearer secret(supplier/api_key)", tostring(authorization))
    end)

    it("uses the order name as the Idempotency-Key, the same on every resend", function()
      plugin.deliver(op, ctx)
      plugin.deliver(op, ctx)
      assert.are.same({ "P00012", "P00012" }, { sent[1].headers["Idempotency-Key"], sent[2].headers["Idempotency-Key"] })
    end)

    it("omits requested_date when the order has none", function()
      op.order.requested_date = nil
      plugin.deliver(op, ctx)
      assert.is_nil(sent[1].json.requested_date)
    end)

    it("a skip sends nothing, even without configuration", function()
      assert.are.same({ skipped = "order P00013 is for supplier OTHER" }, plugin.deliver({ skip = "order P00013 is for supplier OTHER" }, {}))
      assert.are.equal(0, #sent)
    end)
  end)

  describe("answers", function()
    it("201: the supplier's order id", function()
      assert.are.same({ order_ref = "P00012", supplier_order_id = "SO-40871", status = "received", duplicate = false }, plugin.deliver(op, ctx))
    end)

    it("200 for a repeated Idempotency-Key: the same order, marked a duplicate", function()
      respond(200, fixture("fixtures/response-201.json"))
      assert.are.same({ order_ref = "P00012", supplier_order_id = "SO-40871", status = "received", duplicate = true }, plugin.deliver(op, ctx))
    end)

    it("201 without the order's id, or for another order: permanent", function()
      respond(201, '{"order_ref":"P00012","status":"received"}')
      refuses('supplier portal answered 201 for order P00012 without the order\'s id: {"order_ref":"P00012","status":"received"}')
      respond(201, '{"id":"SO-1","order_ref":"P00099","status":"received"}')
      refuses("supplier portal answered 201 for order P00012 with the receipt of order P00099")
    end)

    it("422: permanent, keeping the portal's code, field and message", function()
      respond(422, fixture("fixtures/response-422.json"))
      refuses("supplier portal refused order P00012: unknown_sku at lines[1].sku: SKU 'NDL-23G' is not in the catalogue of account northside-clinics")
    end)

    it("422 that is not the documented shape: permanent with the body", function()
      respond(422, "quantity too large", "text/plain")
      refuses("supplier portal refused order P00012 (HTTP 422): quantity too large")
    end)

    it("401: permanent, naming the secret", function()
      respond(401, '{"error":{"code":"unauthorized","message":"bad key"}}')
      refuses("supplier portal refused the API key (HTTP 401) for order P00012; check the secret supplier/api_key")
    end)

    it("408: retryable", function()
      respond(408, "")
      assert.has_error(function() plugin.deliver(op, ctx) end,
        { message = "supplier portal timed out reading order P00012 (HTTP 408)", retryable = true })
    end)

    it("429, 5xx and timeouts: http.request's retryable error passes through, Retry-After kept", function()
      answer = function() error({ message = "http.request: 127.0.0.1:18096 answered 503", retryable = true, retry_after_ms = 30000 }, 0) end
      assert.has_error(function() plugin.deliver(op, ctx) end,
        { message = "http.request: 127.0.0.1:18096 answered 503", retryable = true, retry_after_ms = 30000 })
    end)

    it("another status: permanent with the status and a short body", function()
      respond(409, string.rep("x", 400), "text/plain")
      local ok, err = pcall(plugin.deliver, op, ctx)
      assert.is_false(ok)
      assert.are.equal(false, err.retryable)
      assert.are.equal("supplier portal answered HTTP 409 for order P00012: " .. string.rep("x", 300) .. "…", err.message)
    end)
  end)

  describe("refuses a malformed operation before sending, naming the field", function()
    it("the op", function()
      op.op = "send"
      refuses('$.op: expected "send_order", got the string "send"')
      assert.are.equal(0, #sent)
    end)

    it("the order's fields", function()
      op.order.buyer = nil
      refuses("$.order.buyer: expected a non-empty string, got missing")
      op.order.buyer = "northside-clinics"
      op.order.requested_date = "22/11/2026"
      refuses('$.order.requested_date: "22/11/2026" is not a date YYYY-MM-DD')
      assert.are.equal(0, #sent)
    end)

    it("the lines", function()
      op.order.lines = json.array({})
      refuses("$.order.lines: expected a non-empty array of lines, got an array")
      op.order.lines = { { sku = "GLV-NIT-M", quantity = 0, unit_price = 9.5 } }
      refuses("$.order.lines[1].quantity: expected a positive number, got a number (0)")
      op.order.lines = { { sku = "GLV-NIT-M", quantity = 1 }, { quantity = 1, unit_price = 1 } }
      refuses("$.order.lines[1].unit_price: expected a non-negative number, got missing")
      op.order.lines[1].unit_price = 9.5
      refuses("$.order.lines[2].sku: expected a non-empty string, got missing")
      assert.are.equal(0, #sent)
    end)

    it("the configuration", function()
      ctx = {}
      refuses("ctx.config: missing; the catalog entry's config: block must give url and api_key_secret")
      ctx = { config = { url = "127.0.0.1:18096", api_key_secret = "supplier/api_key" } }
      refuses('ctx.config.url: expected the portal\'s origin like https://portal.medsupply.example, got the string "127.0.0.1:18096"')
      ctx = { config = { url = "http://127.0.0.1:18096/" } }
      refuses("ctx.config.api_key_secret: expected the name of the API key secret, got missing")
      assert.are.equal(0, #sent)
    end)
  end)
end)
