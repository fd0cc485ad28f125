local plugin = require("plugin")
local json = require("json")
local FakeLedger = require("spec.fake_ledger")

-- Mapping happens on Friday 2026-11-20; the scheduled run is due Sunday 2026-11-22 14:00Z (09:00 in New York), so
-- the fixture's Monday 09:15 appointment is 24 h 15 min ahead.
local NOW = 1795194000

describe("patient-reminders scheduled reminders", function()
  local store, run

  before_each(function()
    store = FakeLedger.install(plugin)
    plugin._now = function() return NOW end
    run = fixture_json("fixtures/scheduled-run.json")
  end)

  local function appointment(id, kind, start, occurred_at)
    local e = fixture_json("fixtures/appointment-booked.json")
    e.type, e.appointment.id, e.appointment.start = "appointment." .. kind, id, start
    e.occurred_at = occurred_at or "2026-11-20T09:15:00-05:00"
    e.idempotency_key = ("hl7:%s:%s:%s"):format(id, kind, e.occurred_at)
    return plugin.map(e, {})
  end

  local function due(id, start)
    return { type = "appointment.reminder_due", idempotency_key = ("reminder:%s:%s"):format(id, start),
             occurred_at = "2026-11-22T14:00:00Z", appointment = { id = id, start = start, site = "north" }, patient = { mrn = "MRN-0047711" } }
  end

  local function ids(events)
    local out = {}
    for i, e in ipairs(events) do out[i] = e.appointment.id end
    table.sort(out)
    return out
  end

  it("is due for booked appointments 24 to 48 hours after the run, and only those", function()
    appointment("a-in-window", "booked", "2026-11-23T09:15:00-05:00")
    appointment("b-late-window", "booked", "2026-11-24T08:59:00-05:00")
    appointment("c-too-soon", "booked", "2026-11-23T08:59:00-05:00")
    appointment("d-too-far", "booked", "2026-11-24T09:00:00-05:00")
    appointment("e-cancelled", "cancelled", "2026-11-23T10:00:00-05:00")
    appointment("f-moved-in", "rescheduled", "2026-11-23T15:00:00-05:00")
    appointment("g-no-show", "no_show", "2026-11-23T11:00:00-05:00")
    appointment("h-window-opens", "booked", "2026-11-23T09:00:00-05:00")
    assert.are.same({ "a-in-window", "b-late-window", "f-moved-in", "h-window-opens" }, ids(plugin._reminders(run, {})))
  end)

  it("reads only the window's appointments, through the start-time index", function()
    appointment("a-in-window", "booked", "2026-11-23T09:15:00-05:00")
    for i = 1, 50 do appointment(("far-%02d"):format(i), "booked", "2026-12-2" .. (i % 9) .. "T09:15:00-05:00") end
    local reads, get = {}, plugin._ledger_get
    plugin._ledger_get = function(key) reads[#reads + 1] = key; return get(key) end
    assert.are.same({ "a-in-window" }, ids(plugin._reminders(run, {})))
    assert.are.same({ "appt:a-in-window" }, reads)
  end)

  it("does not remind for the time an appointment moved away from", function()
    appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
    appointment("36996", "rescheduled", "2026-11-27T09:15:00-05:00", "2026-11-20T10:00:00-05:00")
    assert.are.same({}, plugin._reminders(run, {}))
    assert.is_not_nil(store.get("due:2026-11-23T14:15:00Z:36996"))
  end)

  it("returns reminder_due events with the appointment, the patient's MRN and the run's time", function()
    appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
    local events = plugin._reminders(run, {})
    assert.is_true(json.is_array(events))
    assert.are.same({ due("36996", "2026-11-23T09:15:00-05:00") }, events)
  end)

  it("returns an empty JSON array when nothing is due", function()
    assert.are.equal("[]", json.encode(plugin._reminders(run, {})))
  end)

  it("reminds once per start time: a later run finds nothing new", function()
    appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
    assert.are.equal(1, #plugin._reminders(run, {}))
    run.due = "2026-11-22T15:00:00Z"
    assert.are.equal(0, #plugin._reminders(run, {}))
  end)

  it("produces the same events again when the same run is retried", function()
    appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
    local first = plugin._reminders(run, {})
    assert.are.same(first, plugin._reminders(fixture_json("fixtures/scheduled-run.json"), {}))
  end)

  it("reminds again for a new time after a reschedule", function()
    appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
    plugin._reminders(run, {})
    appointment("36996", "rescheduled", "2026-11-23T16:00:00-05:00", "2026-11-20T10:00:00-05:00")
    run.due = "2026-11-22T15:00:00Z"
    assert.are.same({ due("36996", "2026-11-23T16:00:00-05:00").idempotency_key }, { plugin._reminders(run, {})[1].idempotency_key })
  end)

  it("reads every page of the ledger", function()
    for i = 1, 230 do appointment(("p%03d"):format(i), "booked", "2026-11-23T09:15:00-05:00") end
    assert.are.equal(230, #plugin._reminders(run, {}))
  end)

  it("uses the clock when the input has no due time", function()
    appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
    plugin._now = function() return 1795356000 end -- 2026-11-22T14:00:00Z
    assert.are.equal(1, #plugin._reminders({}, {}))
  end)

  describe("a reminder_due event", function()
    it("becomes the reminder SMS, keyed by the start so it is sent once", function()
      appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
      assert.are.same({
        op = "send", key = "36996:reminder:2026-11-23T09:15:00-05:00", channel = "sms", to = "+15555550123",
        body = "Northside Clinic - North: reminder of your appointment on Mon Nov 23 at 9:15 AM. Reply C to confirm, STOP to opt out. Questions: (555) 555-0100",
        ref = "36996:reminder",
      }, plugin.map(due("36996", "2026-11-23T09:15:00-05:00"), {}))
    end)

    it("is dropped when the appointment was cancelled since", function()
      appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
      appointment("36996", "cancelled", "2026-11-23T09:15:00-05:00", "2026-11-20T11:00:00-05:00")
      assert.are.same({ skip = "appointment 36996 is cancelled now: no reminder" }, plugin.map(due("36996", "2026-11-23T09:15:00-05:00"), {}))
    end)

    it("is dropped when the appointment moved since", function()
      appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
      appointment("36996", "rescheduled", "2026-11-23T16:00:00-05:00", "2026-11-20T11:00:00-05:00")
      assert.are.same({ skip = "appointment 36996 moved to 2026-11-23T16:00:00-05:00 since the reminder was due: the next run reminds for the new time" },
        plugin.map(due("36996", "2026-11-23T09:15:00-05:00"), {}))
    end)

    it("respects an opt-out that came after the booking", function()
      appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
      plugin.map(fixture_json("fixtures/patient-opted-out.json"), {})
      assert.are.same({ skip = "the patient's number replied STOP (opted out); the patient declined e-mail (consent.email = false)" }, plugin.map(due("36996", "2026-11-23T09:15:00-05:00"), {}))
    end)

    it("is dropped for an appointment never seen", function()
      assert.are.same({ skip = "appointment 404 is not known here" }, plugin.map(due("404", "2026-11-23T09:15:00-05:00"), {}))
    end)

    it("is not sent once the appointment has started", function()
      appointment("36996", "booked", "2026-11-23T09:15:00-05:00")
      plugin._now = function() return 1795444000 end -- after 14:15Z on the 23rd
      assert.matches("^the appointment started at", plugin.map(due("36996", "2026-11-23T09:15:00-05:00"), {}).skip)
    end)
  end)
end)
