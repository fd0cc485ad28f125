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

  it("reads HL7 date-times with or without seconds, fractions and zones", function()
    assert.are.equal("2026-03-15T08:30:00", plugin._timestamp("202603150830", "x"))
    assert.are.equal("2026-03-15T08:30:05-05:00", plugin._timestamp("20260315083005.123-0500", "x"))
    assert.is_nil(plugin._timestamp("", "x"))
    local ok, err = pcall(plugin._timestamp, "2026", "TQ1-7 (start)")
    assert.is_false(ok)
    assert.matches("TQ1%-7 %(start%): '2026' is not an HL7 date%-time", err)
  end)
end)
