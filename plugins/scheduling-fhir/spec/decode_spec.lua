local plugin = require("plugin")
local json = require("json")

local function decode(doc) return plugin.decode(type(doc) == "string" and doc or json.encode(doc)) end

-- The permanent error's message (every refusal of this source is permanent).
local function refusal(doc)
  local ok, err = pcall(decode, doc)
  assert.is_false(ok)
  assert.is_table(err)
  assert.is_false(err.retryable)
  return err.message
end

describe("scheduling-fhir decode", function()
  describe("a bare Appointment with a contained Patient", function()
    it("becomes appointment.booked with the CPT service, the site, the patient's MRN, names, mobile and e-mail", function()
      local events = decode(fixture("fixtures/appointment-contained.json"))
      assert.are.equal(1, #events)
      assert.are.same({
        type = "appointment.booked",
        idempotency_key = "fhir:Appointment/apt-20261124-0042/_history/1",
        occurred_at = "2026-11-23T09:15:00-05:00",
        appointment = {
          id = "apt-20261124-0042", placer_id = "PL-88120",
          start = "2026-11-24T09:30:00-05:00", stop = "2026-11-24T10:00:00-05:00", duration_minutes = 30,
          status = "booked", site = "north",
          service = { code = "99213", system = "CPT", text = "Office visit, established patient" },
        },
        patient = {
          mrn = "MRN-0047711", family_name = "Okafor", given_name = "Maria",
          contact = { phone = "+12175550199", email = "m.okafor@example.org" },
        },
      }, events[1])
    end)

    it("carries nothing clinical, nor birth date, address, SSN or the old name", function()
      local text = json.encode(decode(fixture("fixtures/appointment-contained.json")))
      for _, leaked in ipairs({ "HbA1c", "metformin", "E11.9", "diabetes", "morning", "Family practice", "1984-03-17",
                                "Birch", "000-00-0000", "Adeyemi", "Follow-up encounter", "female" }) do
        assert.is_nil(text:find(leaked, 1, true), "leaked " .. leaked)
      end
    end)

    it("takes the first phone by rank when none is a mobile, and leaves contact out when nothing is usable", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      doc.contained[1].telecom = { { system = "phone", value = "217 555 0142", use = "work", rank = 3 },
                                   { system = "phone", value = "2175550143", use = "home", rank = 2 },
                                   { system = "phone", value = "+1 217 555 0144", use = "old", rank = 1 } }
      assert.are.same({ phone = "+12175550143" }, decode(doc)[1].patient.contact)
      doc.contained[1].telecom = { { system = "phone", value = "555-0142" }, { system = "fax", value = "2175550145" } }
      assert.is_nil(decode(doc)[1].patient.contact)
    end)

    it("uses the appointment's identifier when it has no id, and the extension's site over the Location", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      doc.id = nil
      doc.extension = { { url = plugin.SITE_EXTENSION, valueCode = "South" } }
      local e = decode(doc)[1]
      assert.are.equal("PL-88120", e.appointment.id)
      assert.is_nil(e.appointment.placer_id)
      assert.are.equal("fhir:Appointment/PL-88120/_history/1", e.idempotency_key)
      assert.are.equal("south", e.appointment.site)
    end)

    it("keys by lastUpdated when the server gives no versionId", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      doc.meta.versionId = nil
      local e = decode(doc)[1]
      assert.are.equal("appointment.booked", e.type)
      assert.are.equal("fhir:Appointment/apt-20261124-0042/_history/2026-11-23T09:15:00-05:00", e.idempotency_key)
    end)
  end)

  describe("event types", function()
    it("follow Appointment.status, and a later version of a booking is a reschedule", function()
      local expected = {
        { "proposed", "1", "appointment.booked" }, { "pending", "1", "appointment.booked" },
        { "booked", "1", "appointment.booked" }, { "booked", "4", "appointment.rescheduled" },
        { "pending", "2", "appointment.rescheduled" }, { "cancelled", "5", "appointment.cancelled" },
        { "entered-in-error", "2", "appointment.cancelled" }, { "noshow", "3", "appointment.no_show" },
        { "fulfilled", "3", "appointment.completed" }, { "checked-in", "2", "appointment.completed" },
        { "arrived", "2", "appointment.completed" },
      }
      for _, case in ipairs(expected) do
        local doc = fixture_json("fixtures/appointment-contained.json")
        doc.status, doc.meta.versionId = case[1], case[2]
        local e = decode(doc)[1]
        assert.are.equal(case[3], e.type, case[1] .. " v" .. case[2])
        assert.are.equal(case[1], e.appointment.status)
      end
    end)

    it("gives no event for a waitlisted appointment", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      doc.status = "waitlist"
      assert.are.equal("[]", json.encode(decode(doc)))
    end)

    it("lets a proposed or cancelled appointment go without times, but not a booked one", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      doc.start, doc["end"], doc.status = nil, nil, "cancelled"
      local e = decode(doc)[1]
      assert.is_nil(e.appointment.start)
      assert.is_nil(e.appointment.stop)
      doc.status = "booked"
      assert.are.equal("$.start: missing: a booked appointment needs its start", refusal(doc))
    end)
  end)

  describe("a history Bundle", function()
    it("gives one event per version, oldest first, the referenced patient's MRN from the actor's identifier", function()
      local events = decode(fixture("fixtures/bundle-history.json"))
      assert.are.equal(2, #events)
      assert.are.same({ "appointment.booked", "appointment.rescheduled" }, { events[1].type, events[2].type })
      assert.are.same({ "fhir:Appointment/apt-20261125-0043/_history/1", "fhir:Appointment/apt-20261125-0043/_history/2" },
                      { events[1].idempotency_key, events[2].idempotency_key })
      assert.are.equal("2026-11-26T08:00:00-07:00", events[2].appointment.start)
      assert.are.same({ mrn = "MRN-0052210", given_name = "Jonas Erik", family_name = "Lindqvist" }, events[2].patient)
      assert.are.equal("south", events[2].appointment.site)
      assert.are.same({ code = "36415", system = "CPT", text = "Venous blood draw" }, events[1].appointment.service)
    end)

    it("takes the reference's id as the MRN when no identifier is given", function()
      local doc = fixture_json("fixtures/bundle-history.json")
      doc.entry[1].resource.participant[1].actor.identifier = nil
      assert.are.equal("pat-58213", decode(doc)[2].patient.mrn)
    end)

    it("skips a deleted version (no resource) and refuses an entry with neither resource nor DELETE", function()
      local doc = fixture_json("fixtures/bundle-history.json")
      doc.entry[1].resource = nil
      doc.entry[1].request.method = "DELETE"
      assert.are.equal(1, #decode(doc))
      doc.entry[1].request.method = "PUT"
      assert.are.equal("$.entry[1].resource: missing (only a DELETE in a history may have none)", refusal(doc))
    end)

    it("names the entry and field of a version without its start", function()
      local doc = fixture_json("fixtures/bundle-history.json")
      doc.entry[2].resource.start = nil
      assert.are.equal("$.entry[2].resource.start: missing: a booked appointment needs its start", refusal(doc))
    end)
  end)

  describe("a subscription-notification Bundle", function()
    it("skips the status Parameters, resolves the Patient and Location entries, and reads restricted as no reminders", function()
      local events = decode(fixture("fixtures/bundle-notification.json"))
      assert.are.equal(1, #events)
      local e = events[1]
      assert.are.equal("appointment.cancelled", e.type)
      assert.are.equal("fhir:Appointment/apt-20261124-0051/_history/3", e.idempotency_key)
      assert.are.equal("north", e.appointment.site)
      assert.are.same({ mrn = "MRN-0060417", family_name = "Haddad", given_name = "Samir",
                        contact = { phone = "+13125550123", email = "samir.haddad@example.com" },
                        consent = { sms = false, email = false } }, e.patient)
      assert.is_nil(json.encode(e):find("1958", 1, true))
      assert.is_nil(json.encode(e):find("Portal", 1, true))
    end)

    it("gives no events for a heartbeat (no entries besides the status)", function()
      local doc = fixture_json("fixtures/bundle-notification.json")
      doc.entry = { doc.entry[1] }
      assert.are.equal("[]", json.encode(decode(doc)))
    end)
  end)

  describe("the published FHIR R4 example", function()
    it("is refused for lacking meta.lastUpdated", function()
      assert.are.equal("$.meta.lastUpdated: missing: the time of this version is what orders the appointment's events",
                       refusal(fixture("fixtures/fhir/Appointment-example.json")))
    end)

    it("with meta: the patient from the reference and its display, the site from the Location's display", function()
      local doc = fixture_json("fixtures/fhir/Appointment-example.json")
      doc.meta = { lastUpdated = "2013-12-09T10:00:00Z" }
      local e = decode(doc)[1]
      assert.are.equal("appointment.booked", e.type)
      assert.are.same({ mrn = "example", given_name = "Peter James", family_name = "Chalmers" }, e.patient)
      assert.are.equal("south", e.appointment.site) -- "Location/1", "South Wing, second floor"
      assert.are.same({ code = "52", text = "General Discussion" }, e.appointment.service)
      assert.are.equal("2013-12-10T09:00:00Z", e.appointment.start)
      local text = json.encode(e)
      for _, leaked in ipairs({ "MRI", "burn", "myringotomy", "Careful" }) do assert.is_nil(text:find(leaked, 1, true), leaked) end
    end)
  end)

  describe("refuses", function()
    it("other resource types, alone or in a Bundle", function()
      assert.are.equal("$.resourceType: Encounter is not handled: send an Appointment, or a Bundle of Appointments",
                       refusal({ resourceType = "Encounter", id = "e1" }))
      local doc = fixture_json("fixtures/bundle-history.json")
      doc.entry[3] = { resource = { resourceType = "Encounter", id = "e1" } }
      assert.are.equal("$.entry[3].resource.resourceType: Encounter is not handled here: a Bundle carries Appointments (with their Patients and Locations)",
                       refusal(doc))
    end)

    it("other Bundle types", function()
      local doc = fixture_json("fixtures/bundle-history.json")
      doc.type = "transaction"
      assert.are.equal("$.type: a transaction Bundle is not handled (history, collection or subscription-notification)", refusal(doc))
    end)

    it("what is not JSON, or not a FHIR resource", function()
      assert.matches("^%$: not JSON", refusal("MSH|^~\\&|"))
      assert.are.equal("$.resourceType: expected a non-empty string, got missing", refusal({ id = "x" }))
    end)

    it("a lastUpdated or start that is not a FHIR instant", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      doc.meta.lastUpdated = "2026-11-23T09:15"
      assert.matches("^%$%.meta%.lastUpdated: \"2026%-11%-23T09:15\" is not a FHIR instant", refusal(doc))
      doc = fixture_json("fixtures/appointment-contained.json")
      doc.start = "2026-02-30T09:30:00-05:00"
      assert.are.equal('$.start: "2026-02-30T09:30:00-05:00" is not a FHIR instant (YYYY-MM-DDThh:mm:ss with Z or ±hh:mm): it is not a calendar date',
                       refusal(doc))
    end)

    it("an unknown status and a bad minutesDuration", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      doc.status = "done"
      assert.are.equal('$.status: "done" is not an Appointment status of FHIR R4', refusal(doc))
      doc.status, doc.minutesDuration = "booked", 0
      assert.are.equal("$.minutesDuration: expected a positive integer, got a number (0)", refusal(doc))
    end)

    it("an appointment without a patient, with two, or with a contained reference that is not there", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      table.remove(doc.participant, 1)
      assert.are.equal("$.participant: no participant is a Patient (actor.reference Patient/<id>, #<contained id> or a Bundle entry)", refusal(doc))
      doc = fixture_json("fixtures/appointment-contained.json")
      doc.participant[2].actor = { reference = "Patient/p2" }
      assert.are.equal("$.participant: 2 participants are Patients; a group appointment is not supported", refusal(doc))
      doc = fixture_json("fixtures/appointment-contained.json")
      doc.participant[1].actor.reference = "#nobody"
      assert.are.equal("$.participant[1].actor.reference: #nobody names no resource in the Appointment's contained list", refusal(doc))
    end)

    it("a contained patient without any identifier", function()
      local doc = fixture_json("fixtures/appointment-contained.json")
      doc.contained[1].identifier = nil
      assert.are.equal("$.contained[1].identifier: the patient has no identifier (an MRN is needed to match the patient in Odoo)", refusal(doc))
    end)
  end)
end)
