local plugin = require("plugin")
local json = require("json")

-- An in-memory ledger that stores JSON text, as the host does (so floats, nils and arrays round-trip the same way).
local store
local function use_memory_ledger()
  store = {}
  plugin._ledger_get = function(key) return store[key] and json.decode(store[key]) or nil end
  plugin._ledger_put = function(key, value) store[key] = json.encode(value) end
end

local function event(name) return fixture_json("fixtures/" .. name .. ".json") end
local function ops(e, ctx) return plugin.map(e, ctx or {}).operations end
local function calendar(e, ctx) return ops(e, ctx)[2] end

local function refusal(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.is_table(err)
  assert.is_false(err.retryable)
  return err.message
end

describe("appointment-odoo", function()
  before_each(use_memory_ledger)

  describe("a booking", function()
    it("upserts the patient's partner, then the calendar entry attended by that partner", function()
      local result = ops(event("appointment.booked"))
      assert.are.equal(2, #result)
      assert.are.same({
        op = "upsert", model = "res.partner", key = "conflux.patient_MRN-0047711",
        match = { { "ref", "=", "MRN-0047711" } },
        values = { name = "Maria Okafor", ref = "MRN-0047711", customer_rank = 1 },
      }, result[1])
      assert.are.same({
        op = "upsert", model = "calendar.event", key = "conflux.appointment_APT-20261123-0042",
        match = { { "x_appointment_ref", "=", "APT-20261123-0042" } },
        values = {
          name = "Office visit — north",
          start = "2026-11-24 14:30:00", stop = "2026-11-24 15:00:00", duration = 0.5,
          location = "north", x_site = "north", x_appointment_ref = "APT-20261123-0042",
          x_service_code = "99213", x_status = "booked", x_expected_revenue = 125.0, active = true,
          partner_ids = { many = { { xmlid = "conflux.patient_MRN-0047711" } } },
        },
        ledger = { appointment = "APT-20261123-0042", status = "booked", start = "2026-11-24 14:30:00",
                   stop = "2026-11-24 15:00:00", expected_revenue = 125.0, partner = "MRN-0047711",
                   occurred_at = "2026-11-23T09:15:00-05:00" },
      }, result[2])
    end)

    it("keys, matches and fills the partner exactly as service-invoice does, so both share one record", function()
      local invoice_partner = { key = "conflux.patient_MRN-0047711", match = { { "ref", "=", "MRN-0047711" } },
                                values = { name = "Maria Okafor", ref = "MRN-0047711", customer_rank = 1 } }
      local partner = ops(event("appointment.booked"))[1]
      assert.are.same(invoice_partner, { key = partner.key, match = partner.match, values = partner.values })
    end)

    it("maps a redelivery to byte-identical operations", function()
      local first = json.encode(plugin.map(event("appointment.booked"), {}))
      assert.are.equal(first, json.encode(plugin.map(event("appointment.booked"), {})))
    end)

    it("names the entry by the billable service's short name only, never the source's service text", function()
      local e = event("appointment.booked")
      e.appointment.service.text = "Biopsy of colon (procedure)"
      local text = json.encode(plugin.map(e, {}))
      assert.is_nil(text:find("Biopsy", 1, true))
      assert.is_nil(text:find("established", 1, true))
    end)

    it("is called Appointment without a service, and has no site part without a site", function()
      local e = event("appointment.booked")
      e.appointment.service = nil
      local values = calendar(e).values
      assert.are.equal("Appointment — north", values.name)
      assert.is_nil(values.x_service_code)
      assert.is_nil(values.x_expected_revenue)
      use_memory_ledger()
      e = event("appointment.booked")
      e.appointment.site = nil
      values = calendar(e).values
      assert.are.equal("Office visit", values.name)
      assert.is_nil(values.location)
      assert.is_nil(values.x_site)
    end)

    it("derives the stop from duration_minutes when the event has none", function()
      local e = event("appointment.booked")
      e.appointment.stop, e.appointment.duration_minutes = nil, 45
      local values = calendar(e).values
      assert.are.same({ "2026-11-24 14:30:00", "2026-11-24 15:15:00", 0.75 }, { values.start, values.stop, values.duration })
    end)
  end)

  describe("partner contact fields (config.partner_fields)", function()
    it("sends none by default", function()
      local values = ops(event("appointment.booked"), { config = {} })[1].values
      assert.is_nil(values.email)
      assert.is_nil(values.phone)
      assert.is_nil(values.mobile)
    end)

    it("sends only the fields the catalog entry allows", function()
      local values = ops(event("appointment.booked"), { config = { partner_fields = { "email" } } })[1].values
      assert.are.same({ name = "Maria Okafor", ref = "MRN-0047711", customer_rank = 1, email = "m.okafor@example.org" }, values)
      values = ops(event("appointment.booked"), { config = { partner_fields = { "phone", "mobile" } } })[1].values
      assert.are.same({ name = "Maria Okafor", ref = "MRN-0047711", customer_rank = 1, phone = "+12175550199",
                        mobile = "+12175550199" }, values)
    end)

    it("sends nothing extra when the patient has no contact", function()
      local values = ops(event("appointment.cancelled"), { config = { partner_fields = { "email", "phone" } } })[1].values
      assert.are.same({ name = "Maria Okafor", ref = "MRN-0047711", customer_rank = 1 }, values)
    end)

    it("refuses a field it does not know, naming the config entry", function()
      assert.are.equal('config.partner_fields[2]: the string "birthdate" is not one of email, phone, mobile',
        refusal(function() ops(event("appointment.booked"), { config = { partner_fields = { "email", "birthdate" } } }) end))
      assert.are.equal('config.partner_fields: expected a list of email, phone, mobile, got the string "email"',
        refusal(function() ops(event("appointment.booked"), { config = { partner_fields = "email" } }) end))
    end)
  end)

  describe("patient events", function()
    it("upsert only the partner", function()
      local result = ops(event("patient.updated"), { config = { partner_fields = { "email" } } })
      assert.are.same({ {
        op = "upsert", model = "res.partner", key = "conflux.patient_MRN-0052210", match = { { "ref", "=", "MRN-0052210" } },
        values = { name = "Jonas Lindqvist", ref = "MRN-0052210", customer_rank = 1, email = "jonas.lindqvist@example.net" },
      } }, result)
      assert.is_nil(next(store))
    end)
  end)

  describe("cancellation", function()
    it("archives the entry with x_status cancelled, keeping the times the booking gave", function()
      ops(event("appointment.booked"))
      local values = calendar(event("appointment.cancelled")).values
      assert.is_false(values.active)
      assert.are.equal("cancelled", values.x_status)
      assert.are.same({ "2026-11-24 14:30:00", "2026-11-24 15:00:00", "north", 125.0 },
                      { values.start, values.stop, values.x_site, values.x_expected_revenue })
    end)

    it("before its booking: no calendar entry until a time is known, then the booking leaves it cancelled", function()
      local first = ops(event("appointment.cancelled"))
      assert.are.equal(1, #first) -- the partner only: Odoo needs a start and stop
      assert.are.equal("res.partner", first[1].model)
      local late = ops(event("appointment.booked"))
      assert.are.equal(2, #late)
      local values = late[2].values
      assert.are.same({ "cancelled", false, "2026-11-24 14:30:00", "2026-11-24 15:00:00" },
                      { values.x_status, values.active, values.start, values.stop })
      assert.are.equal("2026-11-24T07:58:09-05:00", late[2].ledger.occurred_at)
    end)

    it("with times, before its booking: the late booking stays cancelled and only fills in what was unknown", function()
      local cancel = event("appointment.cancelled")
      cancel.appointment.start, cancel.appointment.stop = "2026-11-24T09:30:00-05:00", "2026-11-24T10:00:00-05:00"
      local first = calendar(cancel)
      assert.are.same({ false, "cancelled", "Appointment" }, { first.values.active, first.values.x_status, first.values.name })
      local again = calendar(event("appointment.booked"))
      assert.are.same({ false, "cancelled", "2026-11-24 14:30:00", "2026-11-24 15:00:00" },
                      { again.values.active, again.values.x_status, again.values.start, again.values.stop })
      -- the cancellation said nothing of site and service; the booking did
      assert.are.same({ "Office visit — north", "north", "99213" }, { again.values.name, again.values.x_site, again.values.x_service_code })
      assert.are.equal("2026-11-24T07:58:09-05:00", again.ledger.occurred_at)
    end)

    it("is undone only by a newer booking", function()
      ops(event("appointment.cancelled"))
      local rebooked = event("appointment.booked")
      rebooked.occurred_at = "2026-11-24T08:30:00-05:00"
      local values = calendar(rebooked).values
      assert.are.same({ "booked", true }, { values.x_status, values.active })
    end)
  end)

  describe("crossing reschedules", function()
    local function reschedule(at, start, stop)
      local e = event("appointment.rescheduled")
      e.occurred_at, e.appointment.start, e.appointment.stop = at, start, stop
      return e
    end
    local earlier = function() return reschedule("2026-11-23T15:00:00Z", "2026-11-25T11:00:00-05:00", "2026-11-25T11:30:00-05:00") end
    local later = function() return reschedule("2026-11-23T10:30:00-05:00", "2026-11-26T14:00:00-05:00", "2026-11-26T14:30:00-05:00") end

    it("the later one wins when they arrive in order", function()
      ops(event("appointment.booked"))
      calendar(earlier())
      local values = calendar(later()).values
      assert.are.same({ "2026-11-26 19:00:00", "2026-11-26 19:30:00", "rescheduled" }, { values.start, values.stop, values.x_status })
    end)

    it("the later one wins when they arrive crossed (offsets compared in UTC, not as text)", function()
      ops(event("appointment.booked"))
      local newest = calendar(later())
      local stale = calendar(earlier())
      assert.are.same(newest, stale)
      assert.are.equal("2026-11-26 19:00:00", stale.values.start)
      assert.are.equal("2026-11-23T10:30:00-05:00", json.decode(store["appointment_APT-20261123-0042"]).occurred_at)
    end)

    it("a booking that arrives after both changes nothing", function()
      calendar(later())
      calendar(earlier())
      local values = calendar(event("appointment.booked")).values
      assert.are.same({ "2026-11-26 19:00:00", "rescheduled", "south" }, { values.start, values.x_status, values.x_site })
    end)
  end)

  describe("times in Odoo's UTC", function()
    it("converts by the ISO offset, across days, months, years and leap days", function()
      local cases = {
        { "2026-11-24T09:30:00-05:00", "2026-11-24 14:30:00" }, { "2026-11-24T14:30:00Z", "2026-11-24 14:30:00" },
        { "2026-12-31T22:15:00-03:00", "2027-01-01 01:15:00" }, { "2026-03-01T01:00:00+05:30", "2026-02-28 19:30:00" },
        { "2028-03-01T00:10:00+01:00", "2028-02-29 23:10:00" }, { "2026-11-24T09:30:00.750-0500", "2026-11-24 14:30:00" },
        { "2026-07-01T00:00:00+14:00", "2026-06-30 10:00:00" }, { "1999-12-31T19:00:00-05:00", "2000-01-01 00:00:00" },
        { "2026-11-24T09:30-07:00", "2026-11-24 16:30:00" },
      }
      for _, case in ipairs(cases) do assert.are.equal(case[2], plugin._odoo_datetime(case[1]), case[1]) end
    end)

    it("refuses a time without an offset, and one that is not a date-time, naming the field", function()
      local e = event("appointment.booked")
      e.appointment.start = "2026-11-24T09:30:00"
      assert.are.equal("$.appointment.start: \"2026-11-24T09:30:00\" has no UTC offset, so it cannot be placed in Odoo's UTC",
                       refusal(function() ops(e) end))
      e.appointment.start = "2026-02-29T09:30:00Z"
      assert.are.equal("$.appointment.start: \"2026-02-29T09:30:00Z\" is not a calendar date", refusal(function() ops(e) end))
      e.appointment.start = "tomorrow"
      assert.matches("^%$%.appointment%.start: \"tomorrow\" is not an ISO 8601 date%-time", refusal(function() ops(e) end))
    end)
  end)

  describe("the value map", function()
    it("holds the codes and list prices of the Odoo seed's SVC- products", function()
      local seed = { ["99202"] = 95, ["99203"] = 140, ["99212"] = 70, ["99213"] = 125, ["99214"] = 185, ["36415"] = 18.5,
                     ["80053"] = 42.75, ["85025"] = 42.75, ["93000"] = 65, ["71046"] = 110, ["97110"] = 55, ["G0008"] = 25,
                     ["90686"] = 28 }
      local map, count = plugin._value_map(), 0
      for code, entry in pairs(map) do
        count = count + 1
        assert.are.equal(seed[code], entry.price, code)
      end
      assert.are.equal(13, count)
      assert.are.same(map, json.decode(fixture("values/service-prices.json")))
    end)

    it("refuses an unknown service code, permanently, naming the field and the code", function()
      local e = event("appointment.booked")
      e.appointment.service = { code = "76164006", system = "SCT", text = "Biopsy of colon (procedure)" }
      assert.are.equal("$.appointment.service.code: service code 76164006 has no price in the value map (values/service-prices.json)",
                       refusal(function() ops(e) end))
      assert.is_nil(next(store)) -- nothing recorded for a refused event
    end)

    it("names a broken entry", function()
      assert.are.equal('fixtures/value-map-broken.json: $["36415"].price: expected an amount in whole cents, got a number (18.505)',
                       refusal(function() plugin._load_value_map("fixtures/value-map-broken.json") end))
    end)
  end)

  describe("refuses", function()
    it("other event types", function()
      local e = event("appointment.booked")
      e.type = "appointment.deleted"
      assert.matches("^%$%.type: appointment%.deleted is not an event this mapping takes", refusal(function() ops(e) end))
    end)

    it("ids an Odoo external id cannot hold", function()
      local e = event("appointment.booked")
      e.appointment.id = "APT 42"
      assert.are.equal('$.appointment.id: "APT 42" has characters an Odoo external id cannot hold (letters, digits, _ . - only)',
                       refusal(function() ops(e) end))
      e = event("appointment.booked")
      e.patient.mrn = "MRN/47711"
      assert.are.equal('$.patient.mrn: "MRN/47711" has characters an Odoo external id cannot hold (letters, digits, _ . - only)',
                       refusal(function() ops(e) end))
    end)

    it("a patient without any name, but takes one name alone", function()
      local e = event("appointment.booked")
      e.patient.given_name, e.patient.family_name = nil, json.null
      assert.are.equal("$.patient: needs a given_name or family_name (an Odoo contact needs a name)", refusal(function() ops(e) end))
      e.patient.family_name = "Okafor"
      assert.are.equal("Okafor", ops(e)[1].values.name)
    end)

    it("a stop before the start, and a start with neither stop nor duration", function()
      local e = event("appointment.booked")
      e.appointment.stop = "2026-11-24T09:00:00-05:00"
      assert.are.equal("$.appointment.stop: 2026-11-24T09:00:00-05:00 is before the start 2026-11-24T09:30:00-05:00",
                       refusal(function() ops(e) end))
      e.appointment.stop, e.appointment.duration_minutes = nil, nil
      assert.are.equal("$.appointment.stop: missing, and no duration_minutes to derive it from", refusal(function() ops(e) end))
    end)
  end)

  it("asks for a retry when the ledger cannot be read", function()
    plugin._ledger_get = function() error("ledger.get: the store cannot be read (disk I/O error)") end
    local ok, err = pcall(plugin.map, event("appointment.booked"), {})
    assert.is_false(ok)
    assert.is_true(err.retryable)
    assert.matches("^appointment%-odoo: the ledger cannot be read: .*disk I/O error", err.message)
  end)
end)
