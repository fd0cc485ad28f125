local plugin = require("plugin")
local json = require("json")
local FakeLedger = require("spec.fake_ledger")

-- Friday 2026-11-20 12:00 in New York; the fixture's appointment is Monday 09:15 there.
local NOW = 1795194000

describe("patient-reminders map", function()
  local store, booked

  before_each(function()
    store = FakeLedger.install(plugin)
    plugin._now = function() return NOW end
    booked = fixture_json("fixtures/appointment-booked.json")
  end)

  local function event(kind, occurred_at, changes)
    local e = fixture_json("fixtures/appointment-booked.json")
    e.type, e.occurred_at, e.idempotency_key = "appointment." .. kind, occurred_at, "hl7:SCHApp:" .. kind .. occurred_at
    for field, value in pairs(changes or {}) do e.appointment[field] = value end
    return e
  end

  local function number(kind, occurred_at)
    return { type = "patient." .. kind, idempotency_key = "twilio:SMx:" .. occurred_at, occurred_at = occurred_at, phone = "+15555550123" }
  end

  local function patient_update(occurred_at, contact, consent)
    return { type = "patient.updated", idempotency_key = "hl7:ADT:" .. occurred_at, occurred_at = occurred_at,
             patient = { mrn = "MRN-0047711", family_name = "Okafor", given_name = "Maria", contact = contact, consent = consent } }
  end

  describe("a booking", function()
    it("becomes one SMS confirmation naming the clinic and the local time", function()
      assert.are.same({
        op = "send", key = "36996:confirmation:2026-11-20T09:15:00-05:00", channel = "sms", to = "+15555550123",
        body = "Northside Clinic - North: your appointment is booked for Mon Nov 23 at 9:15 AM. Reply C to confirm, STOP to opt out. Questions: (555) 555-0100",
        ref = "36996:confirmation",
      }, plugin.map(booked, {}))
    end)

    it("gives a redelivered event the same operation, so the connector's key sends it once", function()
      local first = plugin.map(booked, {})
      assert.are.same(first, plugin.map(fixture_json("fixtures/appointment-booked.json"), {}))
    end)

    it("keeps a retry's answer even when consent changed in between", function()
      local first = plugin.map(booked, {})
      plugin.map(number("opted_out", "2026-11-20T16:00:00Z"), {})
      assert.are.same(first, plugin.map(fixture_json("fixtures/appointment-booked.json"), {}))
    end)

    it("reads a start without an offset as the clinic's wall time", function()
      booked.appointment.start = "2026-11-23T09:15:00"
      assert.matches("booked for Mon Nov 23 at 9:15 AM%.", plugin.map(booked, {}).body)
    end)

    it("says nothing for an appointment already past", function()
      booked.appointment.start = "2026-11-20T08:00:00-05:00"
      assert.are.same({ skip = "the appointment started at 2026-11-20T08:00:00-05:00: nothing to tell" }, plugin.map(booked, {}))
    end)

    it("says nothing when the booking repeats a time the patient was already told", function()
      plugin.map(booked, {})
      assert.are.same({ skip = "the patient was already told this time" }, plugin.map(event("booked", "2026-11-20T10:00:00-05:00"), {}))
    end)
  end)

  -- The fixture's patient declined e-mail (consent.email = false), so where SMS may not be used nothing is sent and
  -- the skip gives both reasons; spec/email_spec.lua covers the e-mail channel.
  local DECLINED_EMAIL = "; the patient declined e-mail (consent.email = false)"

  describe("consent", function()
    it("needs consent.sms to be true: unknown is not consent", function()
      booked.patient.consent = nil
      assert.are.same({ skip = "no SMS consent on record for the patient (consent.sms is not true); no e-mail consent on record for the patient (consent.email is not true)" },
        plugin.map(booked, {}))
      store.entries = {}
      booked.patient.consent = { email = false }
      assert.are.same({ skip = "no SMS consent on record for the patient (consent.sms is not true)" .. DECLINED_EMAIL }, plugin.map(booked, {}))
    end)

    it("respects a refusal", function()
      booked.patient.consent.sms = false
      assert.are.same({ skip = "the patient declined SMS (consent.sms = false)" .. DECLINED_EMAIL }, plugin.map(booked, {}))
    end)

    it("is per channel: e-mail consent does not allow SMS", function()
      booked.patient.consent = { sms = json.null, email = true }
      local op = plugin.map(booked, {})
      assert.are.same({ "email", "m.okafor@example.org" }, { op.channel, op.to })
    end)

    it("uses what registration recorded when the appointment does not say", function()
      assert.are.same({ skip = "patient details recorded: nothing to send" }, plugin.map(fixture_json("fixtures/patient-registered.json"), {}))
      booked.patient.consent, booked.patient.contact = nil, nil
      assert.are.equal("+15555550123", plugin.map(booked, {}).to)
    end)

    it("lets newer patient data win over an older event that arrives later", function()
      plugin.map(patient_update("2026-11-20T11:00:00-05:00", { phone = "+15555550999" }, { sms = false }), {})
      -- The booking (09:15) is older than the update (11:00): its consent and number are stale.
      assert.are.same({ skip = "the patient declined SMS (consent.sms = false)" .. DECLINED_EMAIL }, plugin.map(booked, {}))
      plugin.map(patient_update("2026-11-20T11:30:00-05:00", nil, { sms = true }), {})
      local reschedule = event("rescheduled", "2026-11-20T11:45:00-05:00", { start = "2026-11-24T10:00:00-05:00" })
      reschedule.patient.contact, reschedule.patient.consent = nil, nil
      assert.are.equal("+15555550999", plugin.map(reschedule, {}).to)
    end)

    it("needs a mobile number", function()
      booked.patient.contact = { email = "m.okafor@example.org" }
      assert.are.same({ skip = "no mobile number on record for the patient" .. DECLINED_EMAIL }, plugin.map(booked, {}))
    end)

    it("does not text a number that is not E.164", function()
      booked.patient.contact.phone = "555-0123"
      assert.are.same({ skip = "no mobile number on record for the patient" .. DECLINED_EMAIL }, plugin.map(booked, {}))
    end)

    it("names a consent that is not a boolean", function()
      booked.patient.consent.sms = "yes"
      assert.has_error(function() plugin.map(booked, {}) end, "$.patient.consent.sms: expected true, false or null, got the string \"yes\"")
    end)
  end)

  describe("opt-out", function()
    it("stops messages to a number that replied STOP", function()
      assert.are.same({ skip = "number opted out: no messages until it opts in" }, plugin.map(fixture_json("fixtures/patient-opted-out.json"), {}))
      assert.are.same({ skip = "the patient's number replied STOP (opted out)" .. DECLINED_EMAIL }, plugin.map(booked, {}))
    end)

    it("wins over later registration data that says consent.sms = true, until the number opts in", function()
      plugin.map(fixture_json("fixtures/patient-opted-out.json"), {})
      plugin.map(patient_update("2026-11-20T11:00:00-05:00", { phone = "+15555550123" }, { sms = true }), {})
      local cancel = event("cancelled", "2026-11-20T11:05:00-05:00")
      assert.are.same({ skip = "the patient's number replied STOP (opted out)" .. DECLINED_EMAIL }, plugin.map(cancel, {}))
      plugin.map(number("opted_in", "2026-11-20T16:30:00Z"), {})
      local reschedule = event("rescheduled", "2026-11-20T11:40:00-05:00", { start = "2026-11-24T10:00:00-05:00" })
      assert.are.equal("send", plugin.map(reschedule, {}).op)
    end)

    it("keeps the newest of an opt-out and an opt-in that arrive out of order", function()
      plugin.map(number("opted_out", "2026-11-20T16:00:00Z"), {})
      assert.are.same({ skip = "an opt-in/opt-out newer than this one is already recorded" },
        plugin.map(number("opted_in", "2026-11-20T15:00:00Z"), {}))
      assert.are.same({ skip = "the patient's number replied STOP (opted out)" .. DECLINED_EMAIL }, plugin.map(booked, {}))
    end)

    it("is per number: a new mobile number is not opted out", function()
      plugin.map(fixture_json("fixtures/patient-opted-out.json"), {})
      booked.patient.contact.phone = "+15555550777"
      assert.are.equal("+15555550777", plugin.map(booked, {}).to)
    end)
  end)

  describe("changes and cancellations", function()
    it("tells the patient a new time", function()
      plugin.map(booked, {})
      local op = plugin.map(event("rescheduled", "2026-11-20T10:00:00-05:00", { start = "2026-11-24T14:30:00-05:00" }), {})
      assert.are.same({ "36996:changed:2026-11-20T10:00:00-05:00", "36996:changed" }, { op.key, op.ref })
      assert.are.equal("Northside Clinic - North: your appointment has moved to Tue Nov 24 at 2:30 PM. Reply C to confirm, STOP to opt out. Questions: (555) 555-0100", op.body)
    end)

    it("says nothing for a modification that keeps the time", function()
      plugin.map(booked, {})
      assert.are.same({ skip = "modified without a new time: nothing the patient needs to know" },
        plugin.map(event("modified", "2026-11-20T10:00:00-05:00", { duration_minutes = 30 }), {}))
    end)

    it("treats a modification with a new time as a change", function()
      plugin.map(booked, {})
      local op = plugin.map(event("modified", "2026-11-20T10:00:00-05:00", { start = "2026-11-23T11:00:00-05:00" }), {})
      assert.are.equal("36996:changed", op.ref)
      assert.matches("moved to Mon Nov 23 at 11:00 AM", op.body)
    end)

    it("tells a cancellation with the number to rebook, and no invitation to confirm", function()
      plugin.map(booked, {})
      local op = plugin.map(event("cancelled", "2026-11-20T10:00:00-05:00"), {})
      assert.are.same({ "36996:cancelled:2026-11-20T10:00:00-05:00", "36996:cancelled" }, { op.key, op.ref })
      assert.are.equal("Northside Clinic - North: your appointment on Mon Nov 23 at 9:15 AM is cancelled. To rebook call (555) 555-0100. Reply STOP to opt out.", op.body)
    end)

    it("uses the time it knows when a cancellation carries none", function()
      plugin.map(booked, {})
      local op = plugin.map(event("cancelled", "2026-11-20T10:00:00-05:00", { start = json.null, site = json.null }), {})
      assert.matches("on Mon Nov 23 at 9:15 AM is cancelled", op.body)
    end)

    it("cancels once", function()
      plugin.map(event("cancelled", "2026-11-20T10:00:00-05:00"), {})
      assert.are.same({ skip = "already cancelled" }, plugin.map(event("cancelled", "2026-11-20T10:05:00-05:00"), {}))
    end)

    it("sends nothing for a no-show", function()
      plugin.map(booked, {})
      assert.are.same({ skip = "no_show: no message" }, plugin.map(event("no_show", "2026-11-20T10:00:00-05:00"), {}))
      assert.are.equal("no_show", store.get("appt:36996").state)
    end)
  end)

  describe("events out of order", function()
    it("a cancellation that arrives before its booking wins: the late booking confirms nothing", function()
      local cancel = plugin.map(event("cancelled", "2026-11-20T10:00:00-05:00"), {})
      assert.are.equal("36996:cancelled", cancel.ref)
      assert.are.same({ skip = "older than the newest applied event of appointment 36996 (2026-11-20T10:00:00-05:00): ignored" },
        plugin.map(booked, {}))
      assert.are.equal("cancelled", store.get("appt:36996").state)
    end)

    it("two reschedules crossing: the newer time is told, the older ignored", function()
      plugin.map(booked, {})
      local newer = plugin.map(event("rescheduled", "2026-11-20T11:00:00-05:00", { start = "2026-11-25T08:00:00-05:00" }), {})
      assert.matches("moved to Wed Nov 25 at 8:00 AM", newer.body)
      local older = plugin.map(event("rescheduled", "2026-11-20T10:00:00-05:00", { start = "2026-11-24T08:00:00-05:00" }), {})
      assert.matches("^older than the newest applied event", older.skip)
      assert.are.equal("2026-11-25T08:00:00-05:00", store.get("appt:36996").start)
    end)

    it("orders by instant, not by text: offsets differ", function()
      plugin.map(event("cancelled", "2026-11-20T15:30:00Z"), {})   -- 10:30 in New York
      assert.matches("^older than", plugin.map(event("rescheduled", "2026-11-20T10:00:00-05:00", { start = "2026-11-24T08:00:00-05:00" }), {}).skip)
    end)
  end)

  describe("no clinical detail", function()
    it("never puts the service, diagnosis, provider, notes or the patient's name in a message", function()
      booked.appointment.service = { code = "45378", system = "CPT", text = "Colonoscopy, diagnostic" }
      booked.appointment.provider = { name = "Dr. Adam Smith", specialty = "Gastroenterologist" }
      booked.appointment.reason = "Ulcerative colitis follow-up"
      booked.diagnoses = { "K51.90" }
      booked.notes = "bowel preparation the day before"
      local outputs = { plugin.map(booked, {}) }
      outputs[2] = plugin.map(event("rescheduled", "2026-11-20T10:00:00-05:00", { start = "2026-11-24T08:00:00-05:00" }), {})
      outputs[3] = plugin.map(event("cancelled", "2026-11-20T10:30:00-05:00"), {})
      for _, op in ipairs(outputs) do
        assert.are.equal("send", op.op)
        local encoded = json.encode(op):lower()
        for _, leaked in ipairs({ "45378", "colonoscopy", "diagnostic", "gastro", "smith", "colitis", "k51", "bowel",
                                  "okafor", "maria", "mrn", "0047711", "cpt" }) do
          assert.is_nil(encoded:find(leaked, 1, true), "leaked " .. leaked)
        end
      end
    end)

    it("keeps every message in plain ASCII and one 160-character segment for every shipped site", function()
      for code in pairs(plugin._sites()) do
        for i, kind in ipairs({ "booked", "rescheduled", "cancelled" }) do
          store.entries = {}
          local e = event(kind, "2026-11-20T10:0" .. i .. ":00-05:00", { site = code, start = "2026-12-30T12:45:00-05:00" })
          local op = plugin.map(e, {})
          assert.is_true(op.body:match("^[ -~]+$") ~= nil, op.body)
          assert.is_true(#op.body <= 160, ("%d characters: %s"):format(#op.body, op.body))
        end
      end
    end)
  end)

  describe("sites", function()
    it("refuses a site missing from the value map, naming it", function()
      booked.appointment.site = "east"
      assert.has_error(function() plugin.map(booked, {}) end, "$.appointment.site: site \"east\" is not in the value map values/sites.json")
    end)

    it("skips an appointment without a site rather than guess the clinic", function()
      booked.appointment.site = nil
      assert.are.same({ skip = "the appointment has no site: a message could not name the clinic or its time zone" }, plugin.map(booked, {}))
    end)
  end)

  describe("errors name the field", function()
    it("occurred_at", function()
      booked.occurred_at = nil
      assert.has_error(function() plugin.map(booked, {}) end, "$.occurred_at: expected a non-empty string, got missing")
      booked.occurred_at = "yesterday"
      assert.has_error(function() plugin.map(booked, {}) end, "$.occurred_at: \"yesterday\" is not an ISO 8601 date-time (YYYY-MM-DDTHH:MM…)")
    end)

    it("the start", function()
      booked.appointment.start = "2026-02-30T09:00:00Z"
      assert.has_error(function() plugin.map(booked, {}) end, "$.appointment.start: \"2026-02-30T09:00:00Z\" is not a valid calendar date and time")
    end)

    it("the appointment id and the patient's MRN", function()
      booked.appointment.id = ""
      assert.has_error(function() plugin.map(booked, {}) end, "$.appointment.id: expected a non-empty string, got the string \"\"")
      booked.appointment.id = "36996"
      booked.patient.mrn = 47711
      assert.has_error(function() plugin.map(booked, {}) end, "$.patient.mrn: expected a non-empty string, got a number (47711)")
    end)

    it("an opt-out's phone", function()
      local e = number("opted_out", "2026-11-20T16:00:00Z")
      e.phone = "5550123"
      assert.has_error(function() plugin.map(e, {}) end, "$.phone: expected an E.164 number, got the string \"5550123\"")
    end)

    it("an event type it does not take", function()
      booked.type = "appointment.confirmed_by_patient"
      assert.has_error(function() plugin.map(booked, {}) end,
        "$.type: \"appointment.confirmed_by_patient\" is not an event patient-reminders takes (appointment.*, patient.registered/updated/opted_out/opted_in)")
    end)
  end)
end)
