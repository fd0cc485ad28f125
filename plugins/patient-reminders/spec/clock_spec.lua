local clock = require("lib.clock")

describe("clock", function()
  it("parses ISO 8601 with Z, ±HH:MM, ±HHMM and fractions to the same instant", function()
    local expected = 1795443300 -- 2026-11-23T14:15:00Z
    assert.are.equal(expected, (clock.parse("2026-11-23T14:15:00Z")))
    assert.are.equal(expected, (clock.parse("2026-11-23T09:15:00-05:00")))
    assert.are.equal(expected, (clock.parse("2026-11-23T09:15:00.250-0500")))
    assert.are.equal(expected, (clock.parse("2026-11-23T15:15+01:00")))
  end)

  it("reports the offset, and none for a wall time", function()
    assert.are.same({ 1795443300, -300 }, { clock.parse("2026-11-23T09:15:00-05:00") })
    assert.are.same({ 1795425300 }, { clock.parse("2026-11-23T09:15:00") })
  end)

  it("refuses what is not a date-time, naming the text", function()
    assert.are.same({ nil, "\"23/11/2026\" is not an ISO 8601 date-time (YYYY-MM-DDTHH:MM…)" }, { clock.parse("23/11/2026") })
    assert.are.same({ nil, "\"2026-13-01T00:00Z\" is not a valid calendar date and time" }, { clock.parse("2026-13-01T00:00Z") })
    assert.are.same({ nil, "\"2026-11-23T09:15:00 EST\" has an unreadable UTC offset" }, { clock.parse("2026-11-23T09:15:00 EST") })
    assert.are.same({ nil, "\"2025-02-29T09:15Z\" is not a valid calendar date and time" }, { clock.parse("2025-02-29T09:15Z") })
  end)

  it("follows US daylight time in New York: 2026-03-08 07:00Z and 2026-11-01 06:00Z", function()
    local spring = clock.parse("2026-03-08T07:00:00Z")
    assert.are.equal(-300, clock.offset_at("America/New_York", spring - 1))
    assert.are.equal(-240, clock.offset_at("America/New_York", spring))
    local fall = clock.parse("2026-11-01T06:00:00Z")
    assert.are.equal(-240, clock.offset_at("America/New_York", fall - 1))
    assert.are.equal(-300, clock.offset_at("America/New_York", fall))
  end)

  it("shows the clinic's wall time around the changes", function()
    assert.are.equal("Sun Mar 8 at 1:59 AM", clock.wall_text(clock.parse("2026-03-08T06:59:00Z"), "America/New_York"))
    assert.are.equal("Sun Mar 8 at 3:00 AM", clock.wall_text(clock.parse("2026-03-08T07:00:00Z"), "America/New_York"))
    assert.are.equal("Sun Nov 1 at 1:30 AM", clock.wall_text(clock.parse("2026-11-01T05:30:00Z"), "America/New_York"))
    assert.are.equal("Sun Nov 1 at 1:30 AM", clock.wall_text(clock.parse("2026-11-01T06:30:00Z"), "America/New_York"))
    assert.are.equal("Mon Nov 23 at 12:05 PM", clock.wall_text(clock.parse("2026-11-23T17:05:00Z"), "America/New_York"))
    assert.are.equal("Tue Nov 24 at 12:00 AM", clock.wall_text(clock.parse("2026-11-24T05:00:00Z"), "America/New_York"))
  end)

  it("knows zones without daylight time and other US zones", function()
    local july = clock.parse("2026-07-01T19:00:00Z")
    assert.are.equal("Wed Jul 1 at 12:00 PM", clock.wall_text(july, "America/Phoenix"))
    assert.are.equal("Wed Jul 1 at 2:00 PM", clock.wall_text(july, "America/Chicago"))
    assert.are.equal("Wed Jul 1 at 3:00 PM", clock.wall_text(july, "America/New_York"))
  end)

  it("refuses a zone it has no rule for", function()
    assert.are.same({ nil, "time zone \"Europe/Berlin\" is not one this plugin knows (lib/clock.lua ZONES)" },
      { clock.wall_text(0, "Europe/Berlin") })
  end)

  it("reads a wall time without offset in the clinic's zone, summer and winter", function()
    assert.are.equal(clock.parse("2026-07-01T09:00:00-04:00"), clock.instant("2026-07-01T09:00:00", "America/New_York"))
    assert.are.equal(clock.parse("2026-12-01T09:00:00-05:00"), clock.instant("2026-12-01T09:00:00", "America/New_York"))
  end)

  it("round-trips days and formats UTC", function()
    for _, days in ipairs({ -1, 0, 59, 10957, 20415, 20780 }) do
      assert.are.equal(days, clock.days_from_civil(clock.civil_from_days(days)))
    end
    assert.are.equal("2026-11-23T14:15:00Z", clock.iso(1795443300))
    assert.are.equal("1969-12-31T23:59:59Z", clock.iso(-1))
  end)
end)
