local plugin = require("plugin")
local json = require("json")

describe("service-invoice", function()
  local event

  before_each(function()
    event = fixture_json("fixtures/service-completed.json")
  end)

  local function ops() return plugin.map(event, {}).operations end

  describe("operations", function()
    it("upserts the partner first, then the invoice that refers to it", function()
      local result = ops()
      assert.are.equal(2, #result)
      assert.are.same({ "upsert", "res.partner", "conflux.patient_MRN-0047711" }, { result[1].op, result[1].model, result[1].key })
      assert.are.same({ "upsert", "account.move", "conflux.service_svc-1001" }, { result[2].op, result[2].model, result[2].key })
      assert.are.same({ xmlid = result[1].key }, result[2].values.partner_id)
    end)

    it("matches the partner by its reference, the MRN", function()
      assert.are.same({ { "ref", "=", "MRN-0047711" } }, ops()[1].match)
    end)

    it("matches the invoice by its reference and type", function()
      assert.are.same({ { "ref", "=", "svc-1001" }, { "move_type", "=", "out_invoice" } }, ops()[2].match)
    end)

    it("keys both records by the event, so a redelivery maps to byte-identical operations", function()
      assert.are.equal(json.encode(plugin.map(event, {})), json.encode(plugin.map(fixture_json("fixtures/service-completed.json"), {})))
    end)
  end)

  describe("the partner", function()
    it("carries only name, reference, customer rank and e-mail", function()
      assert.are.same({ name = "Maria Okafor", ref = "MRN-0047711", customer_rank = 1, email = "m.okafor@example.org" }, ops()[1].values)
    end)

    it("has no e-mail when the source has none", function()
      event.patient.email = nil
      assert.are.same({ name = "Maria Okafor", ref = "MRN-0047711", customer_rank = 1 }, ops()[1].values)
      event.patient.email = json.null
      assert.is_nil(ops()[1].values.email)
    end)

    it("sends no clinical, payer or birth detail to the ERP", function()
      event.patient.birth_date = "1984-03-17"
      event.patient.sex = "F"
      event.patient.phone = "+1-555-0142"
      event.diagnoses = { "E11.9" }
      event.notes = "follow-up for diabetes"
      local encoded = json.encode(plugin.map(event, {}))
      for _, leaked in ipairs({ "1984-03-17", "+1-555-0142", "E11.9", "diabetes", event.payer.member_id, event.payer.id, "Acme" }) do
        assert.is_nil(encoded:find(leaked, 1, true), "leaked " .. leaked)
      end
      assert.is_nil(encoded:find("birth", 1, true))
    end)
  end)

  describe("the invoice", function()
    it("is a customer invoice dated on the service, referenced by the service id, from the site", function()
      local values = ops()[2].values
      assert.are.equal("out_invoice", values.move_type)
      assert.are.equal("2026-11-20", values.invoice_date)
      assert.are.equal("svc-1001", values.ref)
      assert.are.equal("Conflux north", values.invoice_origin)
      assert.are.same({ lookup = { model = "res.currency", domain = { { "name", "=", "USD" } } } }, values.currency_id)
    end)

    it("says only Conflux as the origin when the service has no site", function()
      event.service.site = nil
      assert.are.equal("Conflux", ops()[2].values.invoice_origin)
    end)

    it("bills every line with the product found by its default code from the value map", function()
      local function product(code)
        return { lookup = { model = "product.product", domain = { { "default_code", "=", code } } } }
      end
      assert.are.same({ lines = {
        { product_id = product("SVC-99213"), name = "99213 Office visit, established patient, low complexity", quantity = 1, price_unit = 125.0 },
        { product_id = product("SVC-36415"), name = "36415 Venous blood draw", quantity = 1, price_unit = 18.5 },
        { product_id = product("SVC-85025"), name = "85025 Complete blood count with differential", quantity = 2, price_unit = 42.75 },
      } }, ops()[2].values.invoice_line_ids)
    end)

    it("is posted when the service is completed and left a draft otherwise", function()
      assert.is_true(ops()[2].post)
      event.service.status = "amended"
      assert.is_false(ops()[2].post)
    end)

    it("records what was delivered in the ledger", function()
      assert.are.same({ service_id = "svc-1001", amount_total = 229.0, lines = 3, partner = "MRN-0047711" }, ops()[2].ledger)
      assert.is_nil(ops()[1].ledger)
    end)

    it("totals in cents, so amounts do not drift by float rounding", function()
      event.lines = { { code = "36415", quantity = 1, unit_price = 0.1 }, { code = "36415", quantity = 1, unit_price = 0.1 },
                      { code = "36415", quantity = 1, unit_price = 0.1 } }
      assert.are.equal(0.3, ops()[2].ledger.amount_total)
      assert.are_not.equal(0.3, 0.1 + 0.1 + 0.1)
    end)

    it("rounds a fractional quantity's line total to the cent", function()
      event.lines = { { code = "97110", quantity = 1.5, unit_price = 33.33 } }
      assert.are.equal(50.0, ops()[2].ledger.amount_total)
    end)
  end)

  describe("the value map", function()
    it("has a product for every service code the clinics bill", function()
      for _, code in ipairs({ "99202", "99203", "99212", "99213", "99214", "36415", "80053", "85025", "93000", "71046",
                              "97110", "G0008", "90686" }) do
        event.lines = { { code = code, quantity = 1, unit_price = 10 } }
        local line = ops()[2].values.invoice_line_ids.lines[1]
        assert.are.same({ { "default_code", "=", "SVC-" .. code } }, line.product_id.lookup.domain)
        assert.matches("^" .. code .. " %S", line.name)
      end
    end)

    it("is data in values/service-codes.json", function()
      assert.are.equal("values/service-codes.json", plugin.VALUE_MAP)
      assert.are.same(plugin._value_map(), json.decode(fixture("values/service-codes.json")))
    end)

    it("names the entry of a broken value map", function()
      assert.has_error(function() plugin._load_value_map("fixtures/value-map-broken.json") end,
        'fixtures/value-map-broken.json: $["36415"].description: expected a non-empty string, got missing')
    end)

    it("names a value map that is missing", function()
      assert.error_matches(function() plugin._load_value_map("values/nope.json") end,
        "^values/nope%.json: cannot read the value map: .*no file")
    end)

    it("names a value map that is not JSON", function()
      assert.error_matches(function() plugin._load_value_map("plugin.lua") end, "^plugin%.lua: not valid JSON")
    end)
  end)

  describe("refuses", function()
    it("a service code without a product, naming the line", function()
      event.lines[2].code = "99999"
      assert.has_error(function() plugin.map(event, {}) end,
        "line 2: service code 99999 has no product in the value map (values/service-codes.json)")
    end)

    it("a zero quantity, naming the line", function()
      event.lines[3].quantity = 0
      assert.has_error(function() plugin.map(event, {}) end, "line 3: quantity 0 must be greater than zero ($.lines[3].quantity)")
    end)

    it("a negative quantity, naming the line", function()
      event.lines[1].quantity = -1
      assert.has_error(function() plugin.map(event, {}) end, "line 1: quantity -1 must be greater than zero ($.lines[1].quantity)")
    end)

    it("a zero price, naming the line", function()
      event.lines[2].unit_price = 0.0
      assert.has_error(function() plugin.map(event, {}) end, "line 2: unit_price 0.0 must be greater than zero ($.lines[2].unit_price)")
    end)

    it("a negative price, naming the line", function()
      event.lines[1].unit_price = -125.5
      assert.has_error(function() plugin.map(event, {}) end, "line 1: unit_price -125.5 must be greater than zero ($.lines[1].unit_price)")
    end)

    it("a price that is not a whole number of cents", function()
      event.lines[2].unit_price = 18.505
      assert.has_error(function() plugin.map(event, {}) end, "line 2: unit_price 18.505 is not a whole number of cents ($.lines[2].unit_price)")
    end)

    it("a quantity or price that is not a number", function()
      event.lines[1].quantity = "1"
      assert.has_error(function() plugin.map(event, {}) end, 'line 1: quantity must be a number, got the string "1" ($.lines[1].quantity)')
      event.lines[1].quantity = 1
      event.lines[1].unit_price = json.null
      assert.has_error(function() plugin.map(event, {}) end, "line 1: unit_price must be a number, got null ($.lines[1].unit_price)")
    end)

    it("a line without a code", function()
      event.lines[2].code = nil
      assert.has_error(function() plugin.map(event, {}) end, "$.lines[2].code: expected a non-empty string, got missing")
    end)

    it("a line that is not an object", function()
      event.lines[2] = "36415"
      assert.has_error(function() plugin.map(event, {}) end, '$.lines[2]: expected an object, got the string "36415"')
    end)

    it("no lines, an empty list, or an object for lines", function()
      event.lines = nil
      assert.has_error(function() plugin.map(event, {}) end, "$.lines: expected a non-empty array of service lines, got missing")
      event.lines = json.array({})
      assert.has_error(function() plugin.map(event, {}) end, "$.lines: expected a non-empty array of service lines, got an empty list")
      event.lines = { code = "99213" }
      assert.has_error(function() plugin.map(event, {}) end, "$.lines: expected a non-empty array of service lines, got an object")
    end)

    it("other event types", function()
      event.type = "claim.submitted"
      assert.has_error(function() plugin.map(event, {}) end, '$.type: expected a service.completed event, got the string "claim.submitted"')
    end)

    it("an event that is not an object", function()
      assert.has_error(function() plugin.map("svc-1001", {}) end, '$: expected an object, got the string "svc-1001"')
    end)

    it("a service without an id, date or status", function()
      event.service.id = nil
      assert.has_error(function() plugin.map(event, {}) end, "$.service.id: expected a non-empty string, got missing")
      event.service.id = "svc-1001"
      event.service.status = 1
      assert.has_error(function() plugin.map(event, {}) end, "$.service.status: expected a non-empty string, got a number (1)")
      event.service.status = "completed"
      event.service = nil
      assert.has_error(function() plugin.map(event, {}) end, "$.service: expected an object, got missing")
    end)

    it("a service date that is not a calendar date", function()
      event.service.date = "2026-02-30"
      assert.has_error(function() plugin.map(event, {}) end, '$.service.date: "2026-02-30" is not a calendar date YYYY-MM-DD')
      event.service.date = "2026-11-20T09:00:00Z"
      assert.has_error(function() plugin.map(event, {}) end, '$.service.date: "2026-11-20T09:00:00Z" is not a calendar date YYYY-MM-DD')
      event.service.date = "2028-02-29"
      assert.has_no.errors(function() plugin.map(event, {}) end)
    end)

    it("ids that an Odoo external id cannot hold", function()
      event.patient.mrn = "MRN 47711"
      assert.has_error(function() plugin.map(event, {}) end,
        '$.patient.mrn: "MRN 47711" has characters an Odoo external id cannot hold (letters, digits, _ . - only)')
      event.patient.mrn = "MRN-0047711"
      event.service.id = "svc/1001"
      assert.has_error(function() plugin.map(event, {}) end,
        '$.service.id: "svc/1001" has characters an Odoo external id cannot hold (letters, digits, _ . - only)')
      event.service.id = "svc_1001.a"
      assert.are.equal("conflux.service_svc_1001.a", ops()[2].key)
    end)

    it("a patient without a name", function()
      event.patient.family_name = ""
      assert.has_error(function() plugin.map(event, {}) end, '$.patient.family_name: expected a non-empty string, got the string ""')
      event.patient = nil
      assert.has_error(function() plugin.map(event, {}) end, "$.patient: expected an object, got missing")
    end)

    it("an e-mail that is not a string", function()
      event.patient.email = false
      assert.has_error(function() plugin.map(event, {}) end, "$.patient.email: expected a non-empty string, got a boolean (false)")
    end)

    it("a currency that is not an ISO 4217 code", function()
      event.currency = "usd"
      assert.has_error(function() plugin.map(event, {}) end, '$.currency: "usd" is not an ISO 4217 code like USD')
      event.currency = nil
      assert.has_error(function() plugin.map(event, {}) end, "$.currency: expected a non-empty string, got missing")
    end)
  end)
end)
