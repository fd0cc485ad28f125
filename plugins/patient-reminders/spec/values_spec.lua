local plugin = require("plugin")

describe("patient-reminders value map", function()
  it("ships north and south with a name, an E.164 phone and a known zone", function()
    local sites = plugin._sites()
    assert.are.same({ name = "Northside Clinic - North", phone = "+15555550100", time_zone = "America/New_York" }, sites.north)
    assert.are.equal("Northside Clinic - South", sites.south.name)
  end)

  it("refuses a site name that would force UCS-2 (an en dash)", function()
    assert.has_error(function() plugin._load_value_map("fixtures/sites-broken.json") end,
      "fixtures/sites-broken.json: $[\"north\"].name: keep site names to plain ASCII (GSM-7), or every message costs two or three segments")
  end)

  it("names a missing file", function()
    assert.error_matches(function() plugin._load_value_map("values/nope.json") end, "^values/nope%.json: cannot read the value map")
  end)

  it("formats each site's time in its own zone", function()
    local text = require("lib.text")
    local sites = plugin._load_value_map("fixtures/sites-other-zones.json")
    local start = 1782932400 -- 2026-07-01T19:00:00Z
    assert.matches("on Wed Jul 1 at 12:00 PM%.", text.body("reminder", sites.desert, start))
    assert.matches("on Wed Jul 1 at 2:00 PM%.", text.body("reminder", sites.lakes, start))
    assert.matches("Questions: %(312%) 555%-0100$", text.body("reminder", sites.lakes, start))
  end)
end)
