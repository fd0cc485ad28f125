local plugin = require("plugin")
local json = require("json")
local install_ledger = require("spec.ledger_memory")

describe("supply-demand", function()
  local store, S

  before_each(function()
    store = install_ledger(plugin)
    S = require("spec.support")(plugin, fixture_json)
  end)

  local map, sync, packs = function(c) return S.map(c) end, function(d) return S.sync(d) end, function(op) return S.packs(op) end

  -- The suggestion for a site-day after one demand-sync pass.
  local function order(place)
    local results = sync()
    return results[place or "north 2026-11-23"]
  end

  describe("one booking", function()
    it("is recorded, not sent: the demand-sync pass makes it the day's draft purchase order", function()
      assert.are.same({ skip = "demand recorded for north 2026-11-23; the demand-sync poll updates the suggestion" }, map())
      assert.are.same({ units = { ["ALC-PAD"] = 1000, BANDAGE = 1000, ["GLV-NIT-M"] = 2000, ["NDL-23G"] = 1000, ["TUBE-SST-5"] = 1000 }, seq = 1 },
        json.decode(store["day/north/2026-11-23/A-1001"]))
      assert.are.same({ site = "north", day = "2026-11-23", revision = 1 }, json.decode(store["dirty:north:2026-11-23"]))

      local op = order()
      assert.are.same({ "upsert", "purchase.order", "conflux.supply_north_20261123" }, { op.op, op.model, op.key })
      assert.are.same({ { "origin", "=", "Conflux demand north 2026-11-23" } }, op.match)
      assert.are.same({ lookup = { model = "res.partner", domain = { { "ref", "=", "MEDSUPPLY" } } } }, op.values.partner_id)
      assert.are.same({ "north", "Conflux demand north 2026-11-23", "2026-11-22 12:00:00" },
        { op.values.x_site, op.values.origin, op.values.date_planned })
      assert.are.same({
        { product_id = { lookup = { model = "product.product", domain = { { "default_code", "=", "ALC-PAD" } } } },
          name = "ALC-PAD Alcohol prep pads (box of 200)", product_qty = 1, price_unit = 6.4 },
        { product_id = { lookup = { model = "product.product", domain = { { "default_code", "=", "BANDAGE" } } } },
          name = "BANDAGE Adhesive bandages (box of 100)", product_qty = 1, price_unit = 5.5 },
        { product_id = { lookup = { model = "product.product", domain = { { "default_code", "=", "GLV-NIT-M" } } } },
          name = "GLV-NIT-M Nitrile gloves, medium (box of 100)", product_qty = 1, price_unit = 12.5 },
        { product_id = { lookup = { model = "product.product", domain = { { "default_code", "=", "NDL-23G" } } } },
          name = "NDL-23G Needle 23G (box of 100)", product_qty = 1, price_unit = 9.75 },
        { product_id = { lookup = { model = "product.product", domain = { { "default_code", "=", "TUBE-SST-5" } } } },
          name = "TUBE-SST-5 Blood collection tube SST 5 ml (pack of 100)", product_qty = 1, price_unit = 31.0 },
      }, op.values.order_line.lines)
      assert.are.equal("integer", math.type(op.values.order_line.lines[1].product_qty))
    end)

    it("sends nothing about the patient, neither in the event nor in the order", function()
      map()
      local results, events = sync()
      for _, encoded in ipairs({ json.encode(events), json.encode(results) }) do
        for _, leaked in ipairs({ "MRN-0047711", "Okafor", "Maria", "+15555550123", "example.org", "A-1001", "Venipuncture", "36415" }) do
          assert.is_nil(encoded:find(leaked, 1, true), "leaked " .. leaked)
        end
      end
    end)

    it("redelivered: nothing is rewritten, the revision stays, and the demand is not counted twice", function()
      local first = map()
      local before = store["day/north/2026-11-23/A-1001"]
      assert.are.same(first, map())
      assert.are.equal(before, store["day/north/2026-11-23/A-1001"])
      assert.are.equal(1, json.decode(store["dirty:north:2026-11-23"]).revision)
      for i = 2, 100 do map({ id = "A-" .. (1000 + i), code = "99213" }) end
      map()
      -- 99 office visits (198 gloves) and the venipuncture (2): exactly two boxes, not three
      assert.are.equal(2, packs(order())["GLV-NIT-M"])
    end)
  end)

  describe("a day's demand", function()
    it("sums its appointments and rounds up to whole packs", function()
      for i = 1, 51 do map({ id = "V-" .. i, code = "99213" }) end
      map({ id = "E-1", code = "93000" })
      -- gloves 2 × 52 = 104 → 2 boxes of 100; paper 52 → 1 roll; electrodes 10 → 1 pack of 50
      assert.are.same({ ["GLV-NIT-M"] = 2, ["PAPER-EXAM"] = 1, ["ECG-ELEC"] = 1 }, packs(order()))
    end)

    it("counts fractional units exactly: ten flu shots use one 10-dose vial, eleven use two", function()
      for i = 1, 10 do map({ id = "F-" .. i, code = "90686" }) end
      assert.are.equal(1, packs(order())["FLU-QUAD-10"])
      map({ id = "F-11", code = "90686" })
      assert.are.equal(2, packs(order())["FLU-QUAD-10"])
    end)

    it("keeps sites and days apart: one event and one order per site-day", function()
      map()
      assert.are.same({ skip = "demand recorded for south 2026-11-23; the demand-sync poll updates the suggestion" },
        map({ id = "S-1", site = "south", code = "99213" }))
      map({ id = "N-2", start = "2026-11-24T08:00:00-05:00", code = "99213" })
      local results, events = sync()
      assert.are.equal(3, #events)
      assert.are.equal("conflux.supply_south_20261123", results["south 2026-11-23"].key)
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1 }, packs(results["south 2026-11-23"]))
      assert.are.equal("conflux.supply_north_20261124", results["north 2026-11-24"].key)
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1 }, packs(results["north 2026-11-24"]))
      assert.are.equal(1, packs(results["north 2026-11-23"])["TUBE-SST-5"])
    end)

    it("plans delivery for the day before, across months and leap days", function()
      map({ id = "D-1", start = "2026-12-01T08:00:00-05:00" })
      map({ id = "D-2", start = "2027-03-01T08:00:00-05:00" })
      map({ id = "D-3", start = "2028-03-01T08:00:00-05:00" })
      map({ id = "D-4", start = "2027-01-01T08:00:00-05:00" })
      local results = sync()
      assert.are.equal("2026-11-30 12:00:00", results["north 2026-12-01"].values.date_planned)
      assert.are.equal("2027-02-28 12:00:00", results["north 2027-03-01"].values.date_planned)
      assert.are.equal("2028-02-29 12:00:00", results["north 2028-03-01"].values.date_planned)
      assert.are.equal("2026-12-31 12:00:00", results["north 2027-01-01"].values.date_planned)
    end)

    it("uses the local date of the start, not the UTC one", function()
      assert.are.same({ skip = "demand recorded for north 2026-11-23; the demand-sync poll updates the suggestion" },
        map({ start = "2026-11-23T21:30:00-05:00" }))
      assert.are.equal("conflux.supply_north_20261123", order().key)
    end)
  end)

  describe("changes", function()
    it("a cancellation takes the appointment's demand out of its day", function()
      map()
      map({ id = "V-1", code = "99213" })
      assert.are.equal(1, packs(order())["TUBE-SST-5"])
      assert.are.same({ skip = "demand recorded for north 2026-11-23; the demand-sync poll updates the suggestion" },
        map({ type = "appointment.cancelled", at = "2026-11-21T08:00:00-05:00" }))
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1 }, packs(order()))
      local appt = json.decode(store["appt/A-1001"])
      assert.are.same({ type = "appointment.cancelled", site = "north", day = "2026-11-23", units = {} },
        { type = appt.type, site = appt.site, day = appt.day, units = appt.units })
    end)

    it("the last appointment of a day cancelled: the draft stays, with no lines", function()
      map()
      order()
      map({ type = "appointment.no_show", at = "2026-11-23T10:00:00-05:00" })
      local op = order()
      assert.are.equal("conflux.supply_north_20261123", op.key)
      assert.are.same({}, op.values.order_line.lines)
      assert.is_true(json.is_array(op.values.order_line.lines))
    end)

    it("a reschedule to another day moves the demand: both days are dirty and both go out", function()
      map()
      order()
      assert.are.same({ skip = "demand recorded for north 2026-11-23 and north 2026-11-25; the demand-sync poll updates the suggestion" },
        map({ type = "appointment.rescheduled", at = "2026-11-21T09:00:00-05:00", start = "2026-11-25T09:00:00-05:00" }))
      assert.are.equal(2, json.decode(store["dirty:north:2026-11-23"]).revision)
      assert.are.equal(2, json.decode(store["dirty:north:2026-11-25"]).revision)
      local results, events = sync()
      assert.are.same({ "2026-11-23", "2026-11-25" }, { events[1].day, events[2].day })
      assert.are.same({}, packs(results["north 2026-11-23"]))
      assert.are.equal("conflux.supply_north_20261125", results["north 2026-11-25"].key)
      assert.are.equal(1, packs(results["north 2026-11-25"])["TUBE-SST-5"])
    end)

    it("a reschedule before any pass: the old day, never suggested, sends nothing", function()
      map()
      map({ type = "appointment.rescheduled", at = "2026-11-21T09:00:00-05:00", start = "2026-11-25T09:00:00-05:00" })
      local results = sync()
      assert.are.same({ skip = "supply demand north 2026-11-23: nothing to order and no suggestion yet" }, results["north 2026-11-23"])
      assert.are.equal(1, packs(results["north 2026-11-25"])["NDL-23G"])
    end)

    it("a modified service changes the day's lines", function()
      map()
      map({ type = "appointment.modified", at = "2026-11-21T09:00:00-05:00", code = "93000" })
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1, ["ECG-ELEC"] = 1 }, packs(order()))
    end)
  end)

  describe("out of order", function()
    it("a cancellation that arrives before its booking wins: nothing is ordered", function()
      map({ type = "appointment.cancelled", at = "2026-11-21T08:00:00-05:00" })
      assert.are.same({ skip = "appointment A-1001: older than the appointment.cancelled applied (2026-11-21T08:00:00-05:00); supply demand unchanged" },
        map())
      assert.are.same({}, json.decode(store["day/north/2026-11-23/A-1001"]).units)
      assert.are.same({ skip = "supply demand north 2026-11-23: nothing to order and no suggestion yet" }, order())
    end)

    it("two reschedules crossing: the older one changes nothing", function()
      map()
      map({ type = "appointment.rescheduled", at = "2026-11-21T12:00:00-05:00", start = "2026-11-26T09:00:00-05:00" })
      local marks = { store["dirty:north:2026-11-23"], store["dirty:north:2026-11-26"] }
      assert.is_string(map({ type = "appointment.rescheduled", at = "2026-11-21T11:00:00-05:00", start = "2026-11-25T09:00:00-05:00" }).skip)
      assert.is_nil(store["day/north/2026-11-25/A-1001"])
      assert.is_nil(store["dirty:north:2026-11-25"])
      assert.are.same(marks, { store["dirty:north:2026-11-23"], store["dirty:north:2026-11-26"] })
      assert.are.equal(1, packs(order("north 2026-11-26"))["TUBE-SST-5"])
    end)

    it("orders by the instant, whatever the offsets say", function()
      map({ at = "2026-11-21T12:00:00-05:00" })                                  -- 17:00Z
      map({ type = "appointment.cancelled", at = "2026-11-21T18:30:00+02:00" })  -- 16:30Z: older
      assert.are.equal(1, packs(order())["TUBE-SST-5"])
    end)

    it("reads a time without a zone at its time of day, not as midnight", function()
      map({ at = "2026-11-21T12:00:00" })
      order()
      map({ type = "appointment.cancelled", at = "2026-11-21T12:00:01" })
      assert.are.same({}, packs(order()))
    end)
  end)

  describe("what it cannot place", function()
    it("a service without a bill of materials uses nothing (and is still tracked)", function()
      assert.is_string(map({ code = "76164006" }).skip)
      map({ id = "A-2", code = "99213" })
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1 }, packs(order()))
    end)

    it("an appointment without a site uses nothing; a later modification that names it counts", function()
      assert.are.same({ skip = "appointment A-1001: no site or start, no supply demand recorded" }, map({ site = false }))
      assert.are.same({}, S.poll())
      map({ type = "appointment.modified", at = "2026-11-21T09:00:00-05:00" })
      assert.are.equal(1, packs(order())["NDL-23G"])
    end)

    it("a site with spaces stays as it is in x_site and the event, and is made safe in the keys", function()
      map({ site = "GH Clinic" })
      local results, events = sync()
      assert.are.same({ "GH Clinic", "supply-demand:gh-clinic:2026-11-23:1" }, { events[1].site, events[1].idempotency_key })
      local op = results["GH Clinic 2026-11-23"]
      assert.are.same({ "conflux.supply_gh-clinic_20261123", "GH Clinic" }, { op.key, op.values.x_site })
    end)
  end)

  describe("refuses what is not an appointment event, naming the field", function()
    it("the type", function()
      local e = S.event()
      e.type = "patient.updated"
      assert.has_error(function() plugin.map(e, {}) end,
        '$.type: expected an appointment event (booked, rescheduled, modified, completed, cancelled, no_show) or supply.demand_changed, got the string "patient.updated"')
    end)

    it("the appointment and its id", function()
      local e = S.event()
      e.appointment = nil
      assert.has_error(function() plugin.map(e, {}) end, "$.appointment: expected an object, got missing")
      e = S.event()
      e.appointment.id = ""
      assert.has_error(function() plugin.map(e, {}) end, '$.appointment.id: expected a non-empty string, got the string ""')
    end)

    it("occurred_at", function()
      local e = S.event()
      e.occurred_at = nil
      assert.has_error(function() plugin.map(e, {}) end, "$.occurred_at: expected an ISO 8601 date-time, got missing")
      e.occurred_at = "yesterday"
      assert.error_matches(function() plugin.map(e, {}) end, '^%$%.occurred_at: "yesterday" is not an ISO 8601 date%-time')
    end)
  end)

  describe("the value maps", function()
    it("the shipped ones load: every SKU a bill of materials names has a pack size", function()
      local maps = plugin._load(plugin.BOM, plugin.SUPPLIES)
      for _, code in ipairs({ "36415", "93000", "90686", "99202", "99203", "99212", "99213", "99214" }) do
        assert.is_table(maps.bom[code], code)
      end
      assert.are.same({ ["FLU-QUAD-10"] = 0.1, ["SYR-3ML"] = 1, ["ALC-PAD"] = 1, BANDAGE = 1 }, maps.bom["90686"].items)
    end)

    it("a SKU without a pack size is refused, naming it", function()
      assert.has_error(function() plugin._load("fixtures/bom-unknown-sku.json", plugin.SUPPLIES) end,
        'fixtures/bom-unknown-sku.json: $["36415"].items["TOURNIQUET"]: the SKU has no pack size in values/supplies.json')
    end)
  end)
end)
