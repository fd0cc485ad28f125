local plugin = require("plugin")
local json = require("json")
local FakeLedger = require("spec.fake_ledger")

-- Friday 2026-11-20 12:00 in New York; the fixture's appointment is Monday 09:15 there. The fixture's patient declined
-- SMS and opted in to e-mail.
local NOW = 1795194000

describe("patient-reminders e-mail channel", function()
  local store, booked

  before_each(function()
    store = FakeLedger.install(plugin)
    plugin._now = function() return NOW end
    booked = fixture_json("fixtures/appointment-booked-email.json")
  end)

  local function event(kind, occurred_at, changes)
    local e = fixture_json("fixtures/appointment-booked-email.json")
    e.type, e.occurred_at, e.idempotency_key = "appointment." .. kind, occurred_at, "saas:" .. kind .. occurred_at
    for field, value in pairs(changes or {}) do e.appointment[field] = value end
    return e
  end

  local function address(kind, occurred_at, email)
    return { type = "patient." .. kind, idempotency_key = "sendgrid:" .. occurred_at, occurred_at = occurred_at,
             email = email or "m.okafor@example.org", channel = "email" }
  end

  local function number(kind, occurred_at)
    return { type = "patient." .. kind, idempotency_key = "twilio:SMx:" .. occurred_at, occurred_at = occurred_at, phone = "+15555550123" }
  end

  local function patient_update(occurred_at, contact, consent)
    return { type = "patient.updated", idempotency_key = "hl7:ADT:" .. occurred_at, occurred_at = occurred_at,
             patient = { mrn = "MRN-0047711", family_name = "Okafor", given_name = "Maria", contact = contact, consent = consent } }
  end

  describe("choosing the channel", function()
    it("e-mails a patient who opted in to e-mail and not to SMS, with a subject naming the clinic", function()
      assert.are.same({
        op = "send", key = "36996:confirmation:2026-11-20T09:15:00-05:00", channel = "email", to = "m.okafor@example.org",
        subject = "Northside Clinic - North: your appointment",
        body = "Northside Clinic - North: your appointment is booked for Mon Nov 23 at 9:15 AM. To stop these e-mails, reply STOP or use the unsubscribe link. Questions: (555) 555-0100",
        ref = "36996:confirmation",
      }, plugin.map(booked, {}))
    end)

    it("needs consent.email to be true: unknown is not consent", function()
      booked.patient.consent = { sms = false }
      assert.are.same({ skip = "the patient declined SMS (consent.sms = false); no e-mail consent on record for the patient (consent.email is not true)" },
        plugin.map(booked, {}))
    end)

    it("respects a refusal of e-mail", function()
      booked.patient.consent.email = false
      assert.are.same({ skip = "the patient declined SMS (consent.sms = false); the patient declined e-mail (consent.email = false)" },
        plugin.map(booked, {}))
    end)

    it("prefers SMS when the patient consented to both", function()
      booked.patient.consent.sms = true
      local op = plugin.map(booked, {})
      assert.are.same({ "sms", "+15555550123", nil }, { op.channel, op.to, op.subject })
      assert.matches("Reply C to confirm, STOP to opt out%.", op.body)
    end)

    it("falls back to e-mail when the number replied STOP", function()
      booked.patient.consent.sms = true
      plugin.map(fixture_json("fixtures/patient-opted-out.json"), {})
      local op = plugin.map(booked, {})
      assert.are.same({ "email", "m.okafor@example.org" }, { op.channel, op.to })
    end)

    it("needs an address, and one that is an address", function()
      booked.patient.contact.email = nil
      assert.are.same({ skip = "the patient declined SMS (consent.sms = false); no e-mail address on record for the patient" }, plugin.map(booked, {}))
      store.entries = {}
      booked.patient.contact.email = "m.okafor at example.org"
      assert.are.same({ skip = "the patient declined SMS (consent.sms = false); no e-mail address on record for the patient" }, plugin.map(booked, {}))
      store.entries = {}
      booked.patient.contact.email = "m.okafor@example.org\r\nBcc: x@example.net"
      assert.are.equal("no e-mail address on record for the patient", plugin.map(booked, {}).skip:match("; (.*)$"))
    end)

    it("lets newer patient data win over an older event that arrives later", function()
      plugin.map(patient_update("2026-11-20T11:00:00-05:00", { email = "maria.o@example.net" }, { email = false }), {})
      -- The booking (09:15) is older than the update (11:00): its e-mail consent and address are stale.
      assert.are.same({ skip = "the patient declined SMS (consent.sms = false); the patient declined e-mail (consent.email = false)" },
        plugin.map(booked, {}))
      plugin.map(patient_update("2026-11-20T11:30:00-05:00", nil, { email = true }), {})
      local reschedule = event("rescheduled", "2026-11-20T11:45:00-05:00", { start = "2026-11-24T10:00:00-05:00" })
      reschedule.patient.contact, reschedule.patient.consent = nil, nil
      assert.are.equal("maria.o@example.net", plugin.map(reschedule, {}).to)
    end)

    it("names a consent.email that is not a boolean", function()
      booked.patient.consent.email = "yes"
      assert.has_error(function() plugin.map(booked, {}) end, "$.patient.consent.email: expected true, false or null, got the string \"yes\"")
    end)
  end)

  describe("e-mail opt-out", function()
    it("stops e-mails to an address that unsubscribed", function()
      assert.are.same({ skip = "address opted out: no e-mails until it opts in" }, plugin.map(fixture_json("fixtures/patient-email-opted-out.json"), {}))
      assert.are.same({ skip = "the patient declined SMS (consent.sms = false); the patient's e-mail address unsubscribed (opted out)" },
        plugin.map(booked, {}))
    end)

    it("wins over later registration data that says consent.email = true, until the address opts in", function()
      plugin.map(fixture_json("fixtures/patient-email-opted-out.json"), {})
      plugin.map(patient_update("2026-11-20T11:00:00-05:00", { email = "m.okafor@example.org" }, { email = true }), {})
      local cancel = event("cancelled", "2026-11-20T11:05:00-05:00")
      assert.matches("the patient's e%-mail address unsubscribed %(opted out%)$", plugin.map(cancel, {}).skip)
      assert.are.same({ skip = "address opted in again" }, plugin.map(address("opted_in", "2026-11-20T16:30:00Z"), {}))
      local reschedule = event("rescheduled", "2026-11-20T11:40:00-05:00", { start = "2026-11-24T10:00:00-05:00" })
      local op = plugin.map(reschedule, {})
      assert.are.same({ "send", "email" }, { op.op, op.channel })
    end)

    it("covers the address whatever its case", function()
      plugin.map(address("opted_out", "2026-11-20T16:00:00Z", "M.Okafor@Example.ORG"), {})
      assert.matches("unsubscribed %(opted out%)$", plugin.map(booked, {}).skip)
    end)

    it("is per address: another address is not opted out", function()
      plugin.map(fixture_json("fixtures/patient-email-opted-out.json"), {})
      booked.patient.contact.email = "maria.o@example.net"
      assert.are.equal("maria.o@example.net", plugin.map(booked, {}).to)
    end)

    it("keeps the newest of an opt-out and an opt-in that arrive out of order", function()
      plugin.map(address("opted_out", "2026-11-20T16:00:00Z"), {})
      assert.are.same({ skip = "an opt-in/opt-out newer than this one is already recorded" },
        plugin.map(address("opted_in", "2026-11-20T15:00:00Z"), {}))
      assert.matches("unsubscribed %(opted out%)$", plugin.map(booked, {}).skip)
    end)

    it("does not stop SMS, and an SMS STOP does not stop e-mail", function()
      booked.patient.consent.sms = true
      plugin.map(fixture_json("fixtures/patient-email-opted-out.json"), {})
      assert.are.equal("sms", plugin.map(booked, {}).channel)
      assert.is_nil(store.get("phone:+15555550123"))
      store.entries = {}
      plugin.map(fixture_json("fixtures/patient-opted-out.json"), {})
      assert.are.equal("email", plugin.map(booked, {}).channel)
      assert.is_nil(store.get("email:m.okafor@example.org"))
    end)

    it("skips both channels when both opted out", function()
      booked.patient.consent.sms = true
      plugin.map(fixture_json("fixtures/patient-opted-out.json"), {})
      plugin.map(fixture_json("fixtures/patient-email-opted-out.json"), {})
      assert.are.same({ skip = "the patient's number replied STOP (opted out); the patient's e-mail address unsubscribed (opted out)" },
        plugin.map(booked, {}))
    end)

    it("keeps a retry's answer even when the address unsubscribed in between", function()
      local first = plugin.map(booked, {})
      plugin.map(fixture_json("fixtures/patient-email-opted-out.json"), {})
      assert.are.same(first, plugin.map(fixture_json("fixtures/appointment-booked-email.json"), {}))
    end)

    it("names what is wrong with an opt-out, without echoing the address", function()
      local e = address("opted_out", "2026-11-20T16:00:00Z", "m.okafor-at-example.org")
      assert.has_error(function() plugin.map(e, {}) end, "$.email: expected an e-mail address like name@example.org, got a string that is not one")
      e.email = nil
      assert.has_error(function() plugin.map(e, {}) end, "$.email: expected a non-empty string, got missing")
      e.channel = "fax"
      assert.has_error(function() plugin.map(e, {}) end, "$.channel: expected \"sms\" or \"email\", got the string \"fax\"")
    end)

    it("reads an opt-out without a channel by the field it carries", function()
      local e = address("opted_out", "2026-11-20T16:00:00Z")
      e.channel = nil
      assert.are.same({ skip = "address opted out: no e-mails until it opts in" }, plugin.map(e, {}))
      assert.is_true(store.get("email:m.okafor@example.org").opted_out)
    end)
  end)

  describe("subjects and bodies", function()
    it("tells a new time", function()
      plugin.map(booked, {})
      local op = plugin.map(event("rescheduled", "2026-11-20T10:00:00-05:00", { start = "2026-11-24T14:30:00-05:00" }), {})
      assert.are.same({
        op = "send", key = "36996:changed:2026-11-20T10:00:00-05:00", channel = "email", to = "m.okafor@example.org",
        subject = "Northside Clinic - North: your appointment",
        body = "Northside Clinic - North: your appointment has moved to Tue Nov 24 at 2:30 PM. To stop these e-mails, reply STOP or use the unsubscribe link. Questions: (555) 555-0100",
        ref = "36996:changed",
      }, op)
    end)

    it("tells a cancellation with the number to rebook", function()
      plugin.map(booked, {})
      local op = plugin.map(event("cancelled", "2026-11-20T10:00:00-05:00"), {})
      assert.are.same({ "Northside Clinic - North: your appointment cancelled",
        "Northside Clinic - North: your appointment on Mon Nov 23 at 9:15 AM is cancelled. To rebook call (555) 555-0100. To stop these e-mails, reply STOP or use the unsubscribe link." },
        { op.subject, op.body })
    end)

    it("reminds by e-mail", function()
      plugin.map(booked, {})
      local op = plugin.map({ type = "appointment.reminder_due", idempotency_key = "reminder:36996:2026-11-23T09:15:00-05:00",
        occurred_at = "2026-11-22T14:00:00Z", appointment = { id = "36996", start = "2026-11-23T09:15:00-05:00", site = "north" },
        patient = { mrn = "MRN-0047711" } }, {})
      assert.are.same({ "36996:reminder:2026-11-23T09:15:00-05:00", "email", "Northside Clinic - North: your appointment reminder",
        "Northside Clinic - North: reminder of your appointment on Mon Nov 23 at 9:15 AM. To stop these e-mails, reply STOP or use the unsubscribe link. Questions: (555) 555-0100" },
        { op.key, op.channel, op.subject, op.body })
    end)

    it("never puts the service, diagnosis, provider, notes or the patient's name in a subject or body", function()
      booked.appointment.provider = { name = "Dr. Adam Smith", specialty = "Gastroenterologist" }
      booked.appointment.reason = "Ulcerative colitis follow-up"
      booked.diagnoses = { "K51.90" }
      booked.notes = "bowel preparation the day before"
      local outputs = { plugin.map(booked, {}) }
      outputs[2] = plugin.map(event("rescheduled", "2026-11-20T10:00:00-05:00", { start = "2026-11-24T08:00:00-05:00" }), {})
      outputs[3] = plugin.map(event("cancelled", "2026-11-20T10:30:00-05:00"), {})
      for _, op in ipairs(outputs) do
        assert.are.same({ "send", "email" }, { op.op, op.channel })
        local shown = (op.subject .. "\n" .. op.body):lower()
        for _, leaked in ipairs({ "45378", "colonoscopy", "diagnostic", "gastro", "smith", "colitis", "k51", "bowel",
                                  "okafor", "maria", "mrn", "0047711", "cpt" }) do
          assert.is_nil(shown:find(leaked, 1, true), "leaked " .. leaked)
        end
        -- No invitation to confirm with C: an e-mail reply is not read for it.
        assert.is_nil(op.body:find("Reply C", 1, true))
      end
    end)
  end)
end)
