local plugin = require("plugin")
local fixtures = require("fixtures")

local function decode(name) return plugin.decode(fixtures.read("fixtures/" .. name)) end

describe("scheduling-hl7 decode", function()
  it("turns the published SIU^S12 into appointment.booked with the filler id, times, service and patient", function()
    local events = decode("SIU-S12-01.hl7")
    assert.are.equal(1, #events)
    local e = events[1]
    assert.are.equal("appointment.booked", e.type)
    assert.are.equal("hl7:SCHApp:MSG00012", e.idempotency_key)
    assert.are.equal("2021-09-14T11:20:00+02:15", e.occurred_at)
    assert.are.equal("36996", e.appointment.id)
    assert.are.equal("12345", e.appointment.placer_id)
    assert.are.equal("2021-09-24T09:30:00+02:15", e.appointment.start)
    assert.are.equal("2021-09-24T10:20:00+02:15", e.appointment.stop)
    assert.are.equal(1, e.appointment.duration_minutes) -- SCH-9/10 say 60 s
    assert.are.equal("Booked", e.appointment.status)
    assert.are.equal("GH Clinic", e.appointment.site)
    assert.are.same({ code = "76164006", text = "Biopsy of colon (procedure)", system = "SCT" }, e.appointment.service)
    -- The published sample's phone numbers (8 digits, "2222") cannot be dialled: no contact, and PD1-12 is empty.
    assert.are.same({ mrn = "PATID1234", family_name = "EVERYMAN", given_name = "ADAM" }, e.patient)
  end)

  it("maps every published SIU and ADT sample to its event type", function()
    local expected = {
      ["SIU-S12-01.hl7"] = "appointment.booked", ["SIU-S13-01.hl7"] = "appointment.rescheduled",
      ["SIU-S14-01.hl7"] = "appointment.modified", ["SIU-S15-01.hl7"] = "appointment.cancelled",
      ["SIU-S26-01.hl7"] = "appointment.no_show", ["ADT-A04-01.hl7"] = "patient.registered",
      ["ADT-A08-01.hl7"] = "patient.updated",
    }
    for name, event_type in pairs(expected) do
      local e = decode(name)[1]
      assert.are.equal(event_type, e.type, name)
      assert.are.equal("PATID1234", e.patient.mrn, name)
      if event_type:find("^appointment") then assert.are.equal("36996", e.appointment.id, name)
      else assert.is_nil(e.appointment, name) end
    end
  end)

  it("reads an S14 to filler status Complete as appointment.completed", function()
    local text = fixture("fixtures/SIU-S14-01.hl7"):gsub("|||Booked|\n", "|||Complete|\n", 1)
    local e = plugin.decode(text)[1]
    assert.are.equal("appointment.completed", e.type)
    assert.are.equal("Complete", e.appointment.status)
    assert.are.equal("appointment.modified", decode("SIU-S14-01.hl7")[1].type)
  end)

  it("carries no clinical detail: diagnoses, observations and notes stay behind", function()
    local text = require("json").encode(decode("SIU-S12-01.hl7")[1])
    for _, clinical in ipairs({ "Ulcerative", "Heart rate", "bowel", "64766004", "Acute abdominal" }) do
      assert.is_nil(text:find(clinical, 1, true), clinical)
    end
  end)

  it("refuses a message type it does not handle, naming MSH-9", function()
    local ok, err = pcall(plugin.decode, "MSH|^~\\&|A|B|C|D|202601010900||ORU^R01|1|P|2.5\rPID|1||7^^^^MR\r")
    assert.is_false(ok)
    assert.matches("MSH%-9: ORU%^R01 is not a message this source handles", err)
  end)

  it("refuses a malformed message with the parser's segment and field", function()
    local ok, err = pcall(plugin.decode, "MSH|^~\\&|A|B|C|D|202601010900||SIU^S12|1|P|2.5\rSCH|1|2\rPID|1||7^^^^MR||DOE^\\Q\\\r")
    assert.is_false(ok)
    assert.matches("segment 3 %(PID%) field PID%-5: unsupported escape", err)
  end)

  it("needs the appointment's id and the patient's identifier", function()
    local ok, err = pcall(plugin.decode, "MSH|^~\\&|A|B|C|D|202601010900||SIU^S12|1|P|2.5\rSCH|||\rPID|1||7^^^^MR\r")
    assert.is_false(ok)
    assert.matches("SCH%-2", err)
    ok, err = pcall(plugin.decode, "MSH|^~\\&|A|B|C|D|202601010900||SIU^S12|1|P|2.5\rSCH|1|2\rPID|1\r")
    assert.is_false(ok)
    assert.matches("PID%-3", err)
  end)

  describe("contact and consent", function()
    local function pid_with(pid13, pid14, pd1)
      return table.concat({
        "MSH|^~\\&|NSCHED|NORTHSIDE|CONFLUX|NORTHSIDE|20261123091500-0500||ADT^A04|C1|P|2.5.1",
        "PID|1||MRN-1^^^NORTHSIDE^MR||Doe^Jane||||||||" .. (pid13 or "") .. "|" .. (pid14 or ""),
        pd1 or "",
      }, "\r")
    end
    local function patient_of(...) return plugin.decode(pid_with(...))[1].patient end

    it("reads a cell phone (XTN-5/6/7) before the home line, and the e-mail of the Internet entry", function()
      local p = decode("SIU-S12-contact.hl7")[1].patient
      assert.are.same({ phone = "+12175550199", email = "m.okafor@example.org" }, p.contact)
      assert.is_nil(p.consent) -- PD1-12 "N": no protection asked for, which says nothing about reminders
    end)

    it("takes XTN-12 (unformatted, +E.164), skips the fax, and reads PD1-12 Y as no SMS and no e-mail", function()
      local p = decode("ADT-A08-protected.hl7")[1].patient
      assert.are.same({ phone = "+19705550178", email = "jonas.lindqvist@example.net" }, p.contact)
      assert.are.same({ sms = false, email = false }, p.consent)
    end)

    it("normalises XTN-1 and XTN-6/7 US numbers to +1 and falls back to PID-14", function()
      assert.are.same({ phone = "+12175550142" }, patient_of("(217) 555-0142^PRN^PH").contact)
      assert.are.same({ phone = "+12175550142" }, patient_of("1-217-555-0142 x12^PRN^PH").contact)
      assert.are.same({ phone = "+12175550142" }, patient_of("^PRN^PH^^^217^5550142").contact)
      assert.are.same({ phone = "+442071234567" }, patient_of("^PRN^PH^^44^20^71234567").contact)
      assert.are.same({ phone = "+12175550100" }, patient_of("", "217.555.0100^WPN^PH").contact)
    end)

    it("takes the e-mail from an XTN-2 NET entry or an X.400 one", function()
      assert.are.same({ email = "jd@example.org" }, patient_of("^NET^^jd@example.org").contact)
      assert.are.same({ email = "jd@example.org" }, patient_of("^^X.400^jd@example.org").contact)
      assert.is_nil(patient_of("^PRN^PH^jd@example.org").contact) -- XTN-4 of a phone entry is not an e-mail channel
      assert.is_nil(patient_of("^NET^Internet^not-an-address").contact)
    end)

    it("skips numbers it cannot use: too short, not NANP, emergency contacts, beepers, TDD", function()
      assert.is_nil(patient_of("78788788^^CP~12121212^^CP").contact)           -- the published sample's numbers
      assert.is_nil(patient_of("(217) 055-0142^PRN^PH").contact)               -- exchange starting with 0
      assert.is_nil(patient_of("(217) 555-0142^EMR^PH").contact)               -- someone else's number
      assert.is_nil(patient_of("(217) 555-0142^PRN^BP~(217) 555-0143^PRN^TDD").contact)
      assert.are.same({ phone = "+12175550144" }, patient_of("2175550143^PRN^FX~2175550144^PRN^PH").contact)
    end)

    it("leaves contact and consent out when the feed has neither", function()
      local p = patient_of()
      assert.is_nil(p.contact)
      assert.is_nil(p.consent)
      assert.is_nil(patient_of(nil, nil, "PD1|" .. string.rep("|", 11) .. "N").consent)
      assert.are.same({ sms = false, email = false }, patient_of(nil, nil, "PD1|" .. string.rep("|", 11) .. "y").consent)
    end)

    it("carries no diagnosis, allergy or note from the richer synthetic messages", function()
      for _, name in ipairs({ "SIU-S12-contact.hl7", "ADT-A08-protected.hl7" }) do
        local text = require("json").encode(decode(name)[1])
        for _, clinical in ipairs({ "E11.9", "diabetes", "HbA1c", "metformin", "Penicillin", "Anaphylaxis", "19840317", "19710802", "Birch", "Alder" }) do
          assert.is_nil(text:find(clinical, 1, true), name .. ": " .. clinical)
        end
      end
    end)
  end)

  it("reads HL7 date-times with or without seconds, fractions and zones", function()
    assert.are.equal("2026-03-15T08:30:00", plugin._timestamp("202603150830", "x"))
    assert.are.equal("2026-03-15T08:30:05-05:00", plugin._timestamp("20260315083005.123-0500", "x"))
    assert.is_nil(plugin._timestamp("", "x"))
    local ok, err = pcall(plugin._timestamp, "2026", "TQ1-7 (start)")
    assert.is_false(ok)
    assert.matches("TQ1%-7 %(start%): '2026' is not an HL7 date%-time", err)
  end)
end)
