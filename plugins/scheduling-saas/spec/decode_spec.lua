local plugin = require("plugin")
local json = require("json")

local function decode(doc) return plugin.decode(type(doc) == "string" and doc or json.encode(doc)) end
local function webhook(name) return fixture_json("fixtures/" .. name .. ".json") end

local function refusal(doc)
  local ok, err = pcall(decode, doc)
  assert.is_false(ok)
  assert.is_table(err)
  assert.is_false(err.retryable)
  return err.message
end

describe("scheduling-saas decode", function()
  it("turns appointment.scheduled into appointment.booked keyed by the webhook id", function()
    local events = decode(fixture("fixtures/appointment.scheduled.json"))
    assert.are.equal(1, #events)
    assert.are.same({
      type = "appointment.booked",
      idempotency_key = "saas:wh_01JDA7M3QK8Z4X2N6B5V9C1T0R",
      occurred_at = "2026-11-23T09:15:00-05:00",
      appointment = {
        id = "apt_7Hq2LmX9", start = "2026-11-24T09:30:00-05:00", stop = "2026-11-24T10:00:00-05:00",
        duration_minutes = 30, status = "scheduled", site = "north",
        service = { code = "99213", text = "Office visit, established patient", system = "CPT" },
      },
      patient = {
        mrn = "MRN-0047711", given_name = "Maria", family_name = "Okafor",
        contact = { phone = "+12175550199", email = "m.okafor@example.org" },
        consent = { sms = true, email = false },
      },
    }, events[1])
  end)

  it("maps every event name to its canonical type", function()
    local names = {
      ["appointment.scheduled"] = "appointment.booked", ["appointment.rescheduled"] = "appointment.rescheduled",
      ["appointment.updated"] = "appointment.modified", ["appointment.canceled"] = "appointment.cancelled",
      ["appointment.no_show"] = "appointment.no_show", ["appointment.completed"] = "appointment.completed",
      ["client.created"] = "patient.registered", ["client.updated"] = "patient.updated",
    }
    for name, kind in pairs(names) do
      local doc = webhook("appointment.scheduled")
      doc.event = name
      local e = decode(doc)[1]
      assert.are.equal(kind, e.type, name)
      if name:match("^client") then assert.is_nil(e.appointment, name) else assert.are.equal("apt_7Hq2LmX9", e.appointment.id, name) end
    end
  end)

  it("reads the shipped reschedule, cancellation and client update", function()
    local moved = decode(fixture("fixtures/appointment.rescheduled.json"))[1]
    assert.are.same({ "appointment.rescheduled", "2026-11-25T14:00:00-05:00", "south", "2026-11-23T15:42:10Z" },
                    { moved.type, moved.appointment.start, moved.appointment.site, moved.occurred_at })
    local canceled = decode(fixture("fixtures/appointment.canceled.json"))[1]
    assert.are.equal("appointment.cancelled", canceled.type)
    assert.is_nil(canceled.appointment.start) -- a cancellation may leave the times out
    assert.is_nil(canceled.patient.contact)
    assert.is_nil(canceled.patient.consent)
    local client = decode(fixture("fixtures/client.updated.json"))[1]
    assert.are.same({ type = "patient.updated", idempotency_key = "saas:wh_01JDC4E9PA6V1N3Z8R2K5W7M0Q",
                      occurred_at = "2026-11-23T18:20:44-05:00",
                      patient = { mrn = "MRN-0052210", given_name = "Jonas", family_name = "Lindqvist",
                                  contact = { phone = "+19705550178", email = "jonas.lindqvist@example.net" },
                                  consent = { sms = false } } }, client)
  end)

  it("drops notes, intake answers, provider, birth date, address and cancellation reason", function()
    local text = json.encode(decode(fixture("fixtures/appointment.scheduled.json"))) ..
                 json.encode(decode(fixture("fixtures/appointment.canceled.json"))) ..
                 json.encode(decode(fixture("fixtures/client.updated.json")))
    for _, leaked in ipairs({ "HbA1c", "metformin", "blood sugar", "Reyes", "1984-03-17", "1971-08-02", "Birch",
                              "feeling better", "portal", "America/Chicago" }) do
      assert.is_nil(text:find(leaked, 1, true), "leaked " .. leaked)
    end
  end)

  it("drops a phone or e-mail it cannot use instead of refusing the appointment", function()
    local doc = webhook("appointment.scheduled")
    doc.data.client.phone, doc.data.client.email = "555-0199", "maria at example"
    local e = decode(doc)[1]
    assert.is_nil(e.patient.contact)
    doc.data.client.phone = "+44 20 7123 4567"
    assert.are.same({ phone = "+442071234567" }, decode(doc)[1].patient.contact)
  end)

  it("acknowledges other event families with no events", function()
    local doc = webhook("appointment.scheduled")
    doc.event = "invoice.paid"
    assert.are.equal("[]", json.encode(decode(doc)))
  end)

  describe("refuses, naming the JSON path", function()
    it("an unknown appointment or client event", function()
      local doc = webhook("appointment.scheduled")
      doc.event = "appointment.cancelled"
      assert.matches("^%$%.event: appointment%.cancelled is not an event this source knows", refusal(doc))
    end)

    it("a webhook without its id, time or data", function()
      local doc = webhook("appointment.scheduled")
      doc.id = nil
      assert.are.equal("$.id: expected a non-empty string, got missing", refusal(doc))
      doc = webhook("appointment.scheduled")
      doc.occurred_at = "2026-11-23T09:15:00"
      assert.are.equal('$.occurred_at: "2026-11-23T09:15:00" is not an ISO 8601 date-time with offset: it has no UTC offset (Z or ±hh:mm)', refusal(doc))
      doc = webhook("appointment.scheduled")
      doc.data = json.array({})
      assert.are.equal("$.data: expected an object, got an array", refusal(doc))
    end)

    it("an appointment without id or times, or ending before it starts", function()
      local doc = webhook("appointment.scheduled")
      doc.data.appointment.id = ""
      assert.are.equal('$.data.appointment.id: expected a non-empty string, got the string ""', refusal(doc))
      doc = webhook("appointment.rescheduled")
      doc.data.appointment.starts_at = nil
      assert.are.equal("$.data.appointment.starts_at: expected a non-empty string, got missing", refusal(doc))
      doc = webhook("appointment.scheduled")
      doc.data.appointment.ends_at = "2026-11-24T09:00:00-05:00"
      assert.are.equal("$.data.appointment.ends_at: 2026-11-24T09:00:00-05:00 is before starts_at 2026-11-24T09:30:00-05:00", refusal(doc))
      doc = webhook("appointment.scheduled")
      doc.data.appointment.starts_at = "2026-13-01T09:00:00Z"
      assert.are.equal('$.data.appointment.starts_at: "2026-13-01T09:00:00Z" is not an ISO 8601 date-time with offset: it is not a calendar date', refusal(doc))
    end)

    it("a bad duration, location or service", function()
      local doc = webhook("appointment.scheduled")
      doc.data.appointment.duration_minutes = 12.5
      assert.are.equal("$.data.appointment.duration_minutes: expected a positive whole number of minutes, got a number (12.5)", refusal(doc))
      doc = webhook("appointment.scheduled")
      doc.data.appointment.location = { name = "North" }
      assert.are.equal("$.data.appointment.location.code: expected a non-empty string, got missing", refusal(doc))
      doc = webhook("appointment.scheduled")
      doc.data.appointment.service = { name = "Office visit" }
      assert.are.equal("$.data.appointment.service.code: expected a non-empty string, got missing", refusal(doc))
    end)

    it("a client without id or names, or an opt-in that is not a boolean", function()
      local doc = webhook("appointment.scheduled")
      doc.data.client = nil
      assert.are.equal("$.data.client: expected an object, got missing", refusal(doc))
      doc = webhook("appointment.scheduled")
      doc.data.client.last_name = json.null
      assert.are.equal("$.data.client.last_name: expected a non-empty string, got null", refusal(doc))
      doc = webhook("appointment.scheduled")
      doc.data.client.sms_opt_in = "yes"
      assert.are.equal('$.data.client.sms_opt_in: expected true or false, got the string "yes"', refusal(doc))
    end)

    it("what is not JSON", function()
      assert.matches("^%$: not JSON", refusal("event=appointment.scheduled"))
    end)
  end)
end)
