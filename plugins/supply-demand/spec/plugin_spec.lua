local plugin = require("plugin")
local json = require("json")
local install_ledger = require("spec.ledger_memory")

describe("supply-demand", function()
  local store

  before_each(function() store = install_ledger(plugin) end)

  -- An appointment event: the fixture with its id, type, time, start, site and service code changed.
  local function event(changes)
    local e = fixture_json("fixtures/appointment-booked.json")
    changes = changes or {}
    e.type = changes.type or e.type
    e.occurred_at = changes.at or e.occurred_at
    e.appointment.id = changes.id or e.appointment.id
    e.appointment.start = changes.start or e.appointment.start
    if changes.site ~= nil then e.appointment.site = changes.site or nil end
    if changes.code then e.appointment.service.code = changes.code end
    return e
  end

  local function map(changes) return plugin.map(event(changes), {}) end

  -- A purchase order's lines as { sku = packs }.
  local function packs(op)
    local out = {}
    for _, line in ipairs(op.values.order_line.lines) do out[line.product_id.lookup.domain[1][3]] = line.product_qty end
    return out
  end

  describe("one booking", function()
    it("becomes a draft purchase order for its site and day, from the supplier, with the bill of materials in packs", function()
      local op = map()
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

    it("sends nothing about the patient", function()
      local encoded = json.encode(map())
      for _, leaked in ipairs({ "MRN-0047711", "Okafor", "Maria", "+15555550123", "example.org", "A-1001", "Venipuncture" }) do
        assert.is_nil(encoded:find(leaked, 1, true), "leaked " .. leaked)
      end
    end)

    it("redelivered: the same operation, byte for byte, and the demand is not counted twice", function()
      local first = json.encode(map())
      assert.are.equal(first, json.encode(map()))
      for i = 2, 100 do map({ id = "A-" .. (1000 + i), code = "99213" }) end
      -- 99 office visits (198 gloves) and the venipuncture (2): exactly two boxes, not three
      assert.are.equal(2, packs(map())["GLV-NIT-M"])
    end)
  end)

  describe("a day's demand", function()
    it("sums its appointments and rounds up to whole packs", function()
      for i = 1, 51 do map({ id = "V-" .. i, code = "99213" }) end
      local op = map({ id = "E-1", code = "93000" })
      -- gloves 2 × 52 = 104 → 2 boxes of 100; paper 52 → 1 roll; electrodes 10 → 1 pack of 50
      assert.are.same({ ["GLV-NIT-M"] = 2, ["PAPER-EXAM"] = 1, ["ECG-ELEC"] = 1 }, packs(op))
    end)

    it("counts fractional units exactly: ten flu shots use one 10-dose vial, eleven use two", function()
      local op
      for i = 1, 10 do op = map({ id = "F-" .. i, code = "90686" }) end
      assert.are.equal(1, packs(op)["FLU-QUAD-10"])
      assert.are.equal(2, packs(map({ id = "F-11", code = "90686" }))["FLU-QUAD-10"])
    end)

    it("keeps sites and days apart", function()
      map()
      local south = map({ id = "S-1", site = "south", code = "99213" })
      assert.are.equal("conflux.supply_south_20261123", south.key)
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1 }, packs(south))
      local next_day = map({ id = "N-2", start = "2026-11-24T08:00:00-05:00", code = "99213" })
      assert.are.equal("conflux.supply_north_20261124", next_day.key)
      assert.is_nil(packs(next_day)["TUBE-SST-5"])
    end)

    it("plans delivery for the day before, across months and leap days", function()
      assert.are.equal("2026-11-30 12:00:00", map({ id = "D-1", start = "2026-12-01T08:00:00-05:00" }).values.date_planned)
      assert.are.equal("2027-02-28 12:00:00", map({ id = "D-2", start = "2027-03-01T08:00:00-05:00" }).values.date_planned)
      assert.are.equal("2028-02-29 12:00:00", map({ id = "D-3", start = "2028-03-01T08:00:00-05:00" }).values.date_planned)
      assert.are.equal("2026-12-31 12:00:00", map({ id = "D-4", start = "2027-01-01T08:00:00-05:00" }).values.date_planned)
    end)

    it("uses the local date of the start, not the UTC one", function()
      assert.are.equal("conflux.supply_north_20261123", map({ start = "2026-11-23T21:30:00-05:00" }).key)
    end)
  end)

  describe("changes", function()
    it("a cancellation takes the appointment's demand out of its day", function()
      map()
      map({ id = "V-1", code = "99213" })
      local op = map({ type = "appointment.cancelled", at = "2026-11-21T08:00:00-05:00" })
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1 }, packs(op))
      assert.are.same({ type = "appointment.cancelled", site = "north", day = "2026-11-23", units = {} },
        { type = json.decode(store["appt/A-1001"]).type, site = json.decode(store["appt/A-1001"]).site,
          day = json.decode(store["appt/A-1001"]).day, units = json.decode(store["appt/A-1001"]).units })
    end)

    it("the last appointment of a day cancelled: the draft stays, with no lines", function()
      map()
      local op = map({ type = "appointment.no_show", at = "2026-11-23T10:00:00-05:00" })
      assert.are.equal("conflux.supply_north_20261123", op.key)
      assert.are.same({}, op.values.order_line.lines)
      assert.is_true(json.is_array(op.values.order_line.lines))
    end)

    it("a reschedule to another day moves the demand: both days go out", function()
      map()
      local out = map({ type = "appointment.rescheduled", at = "2026-11-21T09:00:00-05:00", start = "2026-11-25T09:00:00-05:00" })
      assert.are.equal(2, #out.operations)
      assert.are.same({ "conflux.supply_north_20261123", "conflux.supply_north_20261125" }, { out.operations[1].key, out.operations[2].key })
      assert.are.same({}, packs(out.operations[1]))
      assert.are.equal(1, packs(out.operations[2])["TUBE-SST-5"])
    end)

    it("a modified service changes the day's lines", function()
      map()
      local op = map({ type = "appointment.modified", at = "2026-11-21T09:00:00-05:00", code = "93000" })
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1, ["ECG-ELEC"] = 1 }, packs(op))
    end)
  end)

  describe("out of order", function()
    it("a cancellation that arrives before its booking wins: nothing is ordered", function()
      local first = map({ type = "appointment.cancelled", at = "2026-11-21T08:00:00-05:00" })
      assert.are.same({ skip = "appointment A-1001: no supply demand to order" }, first)
      assert.are.same({ skip = "appointment A-1001: no supply demand to order" }, map())
      assert.are.same({}, json.decode(store["day/north/2026-11-23/A-1001"]).units)
    end)

    it("two reschedules crossing: the older one changes nothing, the newest state goes out again", function()
      map()
      local newest = map({ type = "appointment.rescheduled", at = "2026-11-21T12:00:00-05:00", start = "2026-11-26T09:00:00-05:00" })
      local older = map({ type = "appointment.rescheduled", at = "2026-11-21T11:00:00-05:00", start = "2026-11-25T09:00:00-05:00" })
      assert.are.equal("conflux.supply_north_20261126", older.key)
      assert.are.equal(json.encode(newest.operations[2]), json.encode(older))
      assert.is_nil(store["day/north/2026-11-25/A-1001"])
    end)

    it("orders by the instant, whatever the offsets say", function()
      map({ at = "2026-11-21T12:00:00-05:00" })                                  -- 17:00Z
      local op = map({ type = "appointment.cancelled", at = "2026-11-21T18:30:00+02:00" })  -- 16:30Z: older
      assert.are.equal(1, packs(op)["TUBE-SST-5"])
    end)

    it("reads a time without a zone at its time of day, not as midnight", function()
      map({ at = "2026-11-21T12:00:00" })
      assert.are.same({}, packs(map({ type = "appointment.cancelled", at = "2026-11-21T12:00:01" })))
    end)
  end)

  describe("what it cannot place", function()
    it("a service without a bill of materials uses nothing (and is still tracked)", function()
      assert.are.same({ skip = "appointment A-1001: no supply demand to order" }, map({ code = "76164006" }))
      local op = map({ id = "A-2", code = "99213" })
      assert.are.same({ ["GLV-NIT-M"] = 1, ["PAPER-EXAM"] = 1 }, packs(op))
    end)

    it("an appointment without a site uses nothing; a later modification that names it counts", function()
      assert.is_string(map({ site = false }).skip)
      local op = map({ type = "appointment.modified", at = "2026-11-21T09:00:00-05:00" })
      assert.are.equal(1, packs(op)["NDL-23G"])
    end)

    it("a site with spaces stays as it is in x_site, and is made safe in the key", function()
      local op = map({ site = "GH Clinic" })
      assert.are.same({ "conflux.supply_gh-clinic_20261123", "GH Clinic" }, { op.key, op.values.x_site })
    end)
  end)

  describe("refuses what is not an appointment event, naming the field", function()
    it("the type", function()
      local e = event()
      e.type = "patient.updated"
      assert.has_error(function() plugin.map(e, {}) end,
        '$.type: expected an appointment event (booked, rescheduled, modified, completed, cancelled, no_show), got the string "patient.updated"')
    end)

    it("the appointment and its id", function()
      local e = event()
      e.appointment = nil
      assert.has_error(function() plugin.map(e, {}) end, "$.appointment: expected an object, got missing")
      e = event()
      e.appointment.id = ""
      assert.has_error(function() plugin.map(e, {}) end, '$.appointment.id: expected a non-empty string, got the string ""')
    end)

    it("occurred_at", function()
      local e = event()
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
