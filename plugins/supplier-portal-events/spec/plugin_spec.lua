local plugin = require("plugin")
local json = require("json")

describe("supplier-portal-events", function()
  local function decode_fixture(name, change)
    local event = fixture_json("fixtures/" .. name)
    if change then change(event) end
    return plugin.decode(json.encode(event), {})
  end

  local function refuses(name, change, message)
    assert.has_error(function() decode_fixture(name, change) end, message)
  end

  describe("order.acknowledged", function()
    it("becomes supplier.acknowledged, keyed by the portal's event id", function()
      assert.are.same({ {
        type = "supplier.acknowledged", idempotency_key = "supplier-portal:evt_01JD4K8W3M5Q", occurred_at = "2026-11-21T16:45:00Z",
        order = { name = "P00012", supplier_order_id = "SO-40871", promised_date = "2026-11-22",
                  lines = { { sku = "GLV-NIT-M", quantity_confirmed = 2 }, { sku = "NDL-23G", quantity_confirmed = 1 } } },
      } }, plugin.decode(fixture("fixtures/order.acknowledged.json"), {}))
    end)

    it("keeps a line the supplier cannot fill (0 confirmed)", function()
      local events = decode_fixture("order.acknowledged.json", function(e) e.data.lines[2].quantity_confirmed = 0 end)
      assert.are.equal(0, events[1].order.lines[2].quantity_confirmed)
    end)

    it("refuses malformed fields by their JSON path", function()
      refuses("order.acknowledged.json", function(e) e.data.promised_date = "22.11.2026" end,
        '$.data.promised_date: "22.11.2026" is not a date YYYY-MM-DD')
      refuses("order.acknowledged.json", function(e) e.data.lines[2].sku = nil end, "$.data.lines[2].sku: missing")
      refuses("order.acknowledged.json", function(e) e.data.lines[1].quantity_confirmed = "2" end,
        '$.data.lines[1].quantity_confirmed: expected a number, found a string ("2")')
      refuses("order.acknowledged.json", function(e) e.data.lines[1].quantity_confirmed = -1 end,
        "$.data.lines[1].quantity_confirmed: -1 must not be negative")
      refuses("order.acknowledged.json", function(e) e.data.order_ref = "P 12" end,
        "$.data.order_ref: \"P 12\" is not an id (letters, digits, '_', '.', '-')")
      refuses("order.acknowledged.json", function(e) e.data = nil end, "$.data: expected an object, found nothing")
      refuses("order.acknowledged.json", function(e) e.created = "yesterday" end,
        '$.created: expected epoch seconds (an integer), found a string ("yesterday")')
    end)
  end)

  describe("order.delivered", function()
    it("becomes goods.received with the delivery, its site and what arrived", function()
      assert.are.same({ {
        type = "goods.received", idempotency_key = "supplier-portal:evt_01JD6R2T9B7X", occurred_at = "2026-11-22T15:40:00Z",
        delivery = { id = "DLV-5531", order = "P00012", supplier_order_id = "SO-40871", site = "north", delivered_at = "2026-11-22T15:40:00Z",
                     lines = { { sku = "GLV-NIT-M", quantity_delivered = 2 }, { sku = "NDL-23G", quantity_delivered = 1 } } },
      } }, plugin.decode(fixture("fixtures/order.delivered.json"), {}))
    end)

    it("refuses a delivery that cannot be placed or dated, naming the field", function()
      refuses("order.delivered.json", function(e) e.data.delivery_id = nil end, "$.data.delivery_id: missing")
      refuses("order.delivered.json", function(e) e.data.delivered_at = "2026-11-22T15:40:00" end,
        '$.data.delivered_at: "2026-11-22T15:40:00" is not an ISO 8601 date-time with a zone')
      refuses("order.delivered.json", function(e) e.data.lines = json.array({}) end, "$.data.lines: must not be empty")
      refuses("order.delivered.json", function(e) e.data.lines = { sku = "GLV-NIT-M" } end,
        "$.data.lines: expected an array of lines, found an object")
    end)
  end)

  describe("the envelope", function()
    it("acknowledges and ignores other event types", function()
      local events = plugin.decode(fixture("fixtures/order.invoiced.json"), {})
      assert.are.same({}, events)
      assert.is_true(json.is_array(events))
    end)

    it("refuses what is not an event", function()
      assert.has_error(function() plugin.decode("", {}) end, "$: empty payload: expected a webhook event (JSON)")
      assert.error_matches(function() plugin.decode("{", {}) end, "^%$: not JSON")
      assert.has_error(function() plugin.decode("[]", {}) end, "$: expected an object, found an array")
      refuses("order.delivered.json", function(e) e.type = nil end, "$.type: missing")
      refuses("order.delivered.json", function(e) e.id = nil end, "$.id: missing")
    end)
  end)

  describe("poll: balances", function()
    local ctx, sent, answers

    before_each(function()
      ctx = { config = { url = "http://127.0.0.1:18096/", api_key_secret = "supplier/api_key", sites = { "north", "south" } } }
      sent = {}
      answers = {
        ["http://127.0.0.1:18096/api/v1/sites/north/balances"] = { status = 200, body = fixture("fixtures/balances-north.json") },
        ["http://127.0.0.1:18096/api/v1/sites/south/balances"] = { status = 200, body = fixture("fixtures/balances-south.json") },
      }
      plugin._send = function(request)
        sent[#sent + 1] = request
        local answer = answers[request.url]
        if type(answer) == "function" then return answer(request) end
        if answer.json == nil and answer.status == 200 then answer.json = json.decode(answer.body) end
        return answer
      end
    end)

    it("GETs each configured site's balance with the API key and returns one stock.counted per site", function()
      local events = plugin.poll({ schedule = "nightly-stock-count", due = "2026-11-24T06:30:00Z" }, ctx)
      assert.are.same({
        { type = "stock.counted", idempotency_key = "supplier-portal:balances:north:2026-11-24T06:00:00Z", occurred_at = "2026-11-24T06:00:00Z",
          site = "north", counted_at = "2026-11-24T06:00:00Z",
          items = { { sku = "GLV-NIT-M", quantity = 12 }, { sku = "NDL-23G", quantity = 3 }, { sku = "FLU-QUAD-10", quantity = 0.5 } } },
        { type = "stock.counted", idempotency_key = "supplier-portal:balances:south:2026-11-24T06:05:00Z", occurred_at = "2026-11-24T06:05:00Z",
          site = "south", counted_at = "2026-11-24T06:05:00Z", items = { { sku = "GLV-NIT-M", quantity = 4 } } },
      }, events)
      assert.are.same({ "GET", "GET" }, { sent[1].method, sent[2].method })
      assert.are.equal("Bearer secret(supplier/api_key)", tostring(sent[1].headers["Authorization"]))
      assert.are_not.equal("string", type(sent[1].headers["Authorization"]))
      assert.are.same(events, plugin._balances({}, ctx))
    end)

    it("the same count gives the same idempotency key on every run", function()
      assert.are.equal(plugin.poll({}, ctx)[1].idempotency_key, plugin.poll({}, ctx)[1].idempotency_key)
    end)

    it("an empty shelf is an event with no items", function()
      answers["http://127.0.0.1:18096/api/v1/sites/south/balances"] =
        { status = 200, body = '{"site":"south","counted_at":"2026-11-24T06:05:00Z","items":[]}' }
      assert.are.same({}, plugin.poll({}, ctx)[2].items)
    end)

    it("a malformed balance: permanent, naming the URL and the JSON path", function()
      answers["http://127.0.0.1:18096/api/v1/sites/south/balances"] =
        { status = 200, body = '{"site":"south","counted_at":"2026-11-24T06:05:00Z","items":[{"sku":"GLV-NIT-M","quantity":"4"}]}' }
      assert.has_error(function() plugin.poll({}, ctx) end, { retryable = false,
        message = 'GET http://127.0.0.1:18096/api/v1/sites/south/balances: $.items[1].quantity: expected a number, found a string ("4")' })
      answers["http://127.0.0.1:18096/api/v1/sites/south/balances"] =
        { status = 200, body = '{"site":"north","counted_at":"2026-11-24T06:05:00Z","items":[]}' }
      assert.has_error(function() plugin.poll({}, ctx) end, { retryable = false,
        message = 'GET http://127.0.0.1:18096/api/v1/sites/south/balances: $.site: the balance of "north", not of "south"' })
    end)

    it("401: permanent, naming the secret; 404: permanent with the status", function()
      answers["http://127.0.0.1:18096/api/v1/sites/north/balances"] = { status = 401, body = "" }
      assert.has_error(function() plugin.poll({}, ctx) end, { retryable = false,
        message = "GET http://127.0.0.1:18096/api/v1/sites/north/balances: the portal refused the API key (HTTP 401); check the secret supplier/api_key" })
      answers["http://127.0.0.1:18096/api/v1/sites/north/balances"] = { status = 404, body = '{"error":{"code":"unknown_site"}}' }
      assert.has_error(function() plugin.poll({}, ctx) end, { retryable = false,
        message = 'GET http://127.0.0.1:18096/api/v1/sites/north/balances: the portal answered HTTP 404: {"error":{"code":"unknown_site"}}' })
    end)

    it("429, 5xx and timeouts: http.request's retryable error passes through", function()
      answers["http://127.0.0.1:18096/api/v1/sites/south/balances"] = function()
        error({ message = "http.request: timed out after 10000 ms", retryable = true }, 0)
      end
      assert.has_error(function() plugin.poll({}, ctx) end, { message = "http.request: timed out after 10000 ms", retryable = true })
    end)

    it("without its configuration: permanent, naming what is missing", function()
      ctx.config.sites = nil
      assert.has_error(function() plugin.poll({}, ctx) end,
        { retryable = false, message = "ctx.config.sites: expected the list of sites to count, found nothing" })
      assert.are.equal(0, #sent)
    end)
  end)
end)
