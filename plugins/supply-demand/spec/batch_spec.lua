-- The batched design: appointment events only record; the demand-sync poll returns supply.demand_changed per dirty
-- site-day; map turns that into the day's order and records the revision applied. These specs replay the race the
-- design exists for, and the retries around it.
local plugin = require("plugin")
local json = require("json")
local install_ledger = require("spec.ledger_memory")

describe("supply-demand batches", function()
  local store, S

  before_each(function()
    store = install_ledger(plugin)
    S = require("spec.support")(plugin, fixture_json)
  end)

  local A = { id = "A-1001" }                      -- venipuncture: a tube, a needle, two gloves, …
  local B = { id = "B-2002", code = "93000" }      -- ECG: ten electrodes, two gloves, the table paper

  local function deliver(e) return plugin.map(json.decode(json.encode(e)), {}) end

  describe("the poll's events", function()
    it("carry the site-day's whole demand in packs, keyed by its revision, at the run's due time", function()
      S.map(A)
      S.map(B)
      S.map({ id = "B-2002", type = "appointment.modified", at = "2026-11-21T09:00:00-05:00", code = "99213" })  -- ECG → office visit
      local events = S.poll("2026-11-21T15:00:00Z")
      assert.are.equal(1, #events)
      assert.are.same(fixture_json("fixtures/demand-changed.json"), json.decode(json.encode(events[1])))
      assert.is_true(json.is_array(events))
      assert.are.equal("integer", math.type(events[1].revision))
      assert.are.equal("integer", math.type(events[1].lines[1].quantity))
    end)

    it("nothing dirty, nothing returned (an empty list)", function()
      local events = S.poll()
      assert.are.same({}, events)
      assert.are.equal("[]", json.encode(events))
    end)

    it("the revision grows with every change to the day and is never reused", function()
      local seen, last = {}, 0
      local function revision()
        local r = json.decode(store["dirty:north:2026-11-23"]).revision
        assert.is_true(r > last, ("revision %d after %d"):format(r, last))
        assert.is_nil(seen[r])
        seen[r], last = true, r
      end
      S.map(A); revision()
      S.map(B); revision()
      S.map({ id = "A-1001", type = "appointment.modified", at = "2026-11-21T09:00:00-05:00", code = "99213" }); revision()
      S.map({ id = "B-2002", type = "appointment.cancelled", at = "2026-11-21T09:00:00-05:00" }); revision()
      S.map({ id = "B-2002", type = "appointment.booked", at = "2026-11-21T10:00:00-05:00", code = "93000" }); revision()
      -- B is back with exactly the units it had before, yet the day's revision is not one seen before
      assert.are.equal(5, last)
    end)
  end)

  describe("the race: two appointments of one site-day mapped concurrently", function()
    it("A records, B records, then one poll returns ONE event with A + B", function()
      S.map(A)
      S.map(B)
      local events = S.poll()
      assert.are.equal(1, #events)
      assert.are.same({ ["ALC-PAD"] = 1, BANDAGE = 1, ["GLV-NIT-M"] = 1, ["NDL-23G"] = 1, ["PAPER-EXAM"] = 1,
                        ["TUBE-SST-5"] = 1, ["ECG-ELEC"] = 1 }, S.event_packs(events[1]))
      local op = deliver(events[1])
      assert.are.same(S.event_packs(events[1]), S.packs(op))
    end)

    it("an older revision delivered after a newer one is skipped: the newer total stays", function()
      S.map(A)
      local old = S.poll("2026-11-21T15:00:00Z")[1]             -- A only
      S.map(B)
      local new = S.poll("2026-11-21T15:15:00Z")[1]             -- A + B
      assert.is_true(new.revision > old.revision)
      assert.is_nil(S.event_packs(old)["ECG-ELEC"])
      assert.are.equal(1, S.packs(deliver(new))["ECG-ELEC"])
      assert.are.same({ skip = ("supply demand north 2026-11-23: revision %d is older than revision %d already applied")
                                 :format(old.revision, new.revision) }, deliver(old))
      assert.are.equal(new.revision, json.decode(store["applied:north:2026-11-23"]).revision)
    end)

    it("an attempt that failed after writing the contribution: its retry and the next change still raise the revision", function()
      S.map(A)
      S.sync()                                                                     -- applied: revision 1
      local put = plugin._ledger_put
      plugin._ledger_put = function(key, value)
        if key == "appt/A-1001" then error("store unavailable", 0) end
        return put(key, value)
      end
      local modified = { id = "A-1001", type = "appointment.modified", at = "2026-11-21T09:00:00-05:00", code = "93000" }
      assert.has_error(function() S.map(modified) end, "store unavailable")
      plugin._ledger_put = put
      S.map(modified)                                                              -- the retry
      assert.are.equal(2, json.decode(store["appt/A-1001"]).seq)
      assert.are.equal(1, S.packs(S.sync()["north 2026-11-23"])["ECG-ELEC"])       -- applied: revision 2
      S.map({ id = "A-1001", type = "appointment.modified", at = "2026-11-21T10:00:00-05:00", code = "99213" })
      local events = S.poll("2026-11-22T09:00:00Z")
      assert.are.same({ 3, nil }, { events[1].revision, S.event_packs(events[1])["ECG-ELEC"] })
    end)

    it("an attempt dead-lettered after writing the contribution: later changes still raise the revision", function()
      S.map(A)
      local put = plugin._ledger_put
      plugin._ledger_put = function(key, value)
        if key == "appt/A-1001" then error("store unavailable", 0) end
        return put(key, value)
      end
      assert.has_error(function()
        S.map({ id = "A-1001", type = "appointment.modified", at = "2026-11-21T09:00:00-05:00", code = "93000" })
      end, "store unavailable")
      plugin._ledger_put = put
      S.map({ id = "B-2002", code = "99213" })                                     -- the day goes out with A as left
      assert.are.equal(3, S.poll("2026-11-21T15:00:00Z")[1].revision)
      S.sync("2026-11-21T15:00:00Z")
      S.map({ id = "A-1001", type = "appointment.modified", at = "2026-11-21T10:00:00-05:00", code = "99213" })
      local events = S.poll("2026-11-21T15:15:00Z")
      assert.are.equal(1, #events)
      assert.is_true(events[1].revision > 3)
      assert.is_nil(S.event_packs(events[1])["ECG-ELEC"])
    end)

    it("a dirty mark overwritten by a map that had read less is written again until it covers the day", function()
      S.map(A)
      -- B's contribution lands just after A's map wrote the mark from what it had read (and before B's own mark):
      -- A's re-read sees the day changed and writes the mark again.
      local put = plugin._ledger_put
      local injected = false
      plugin._ledger_put = function(key, value)
        local ok = put(key, value)
        if key == "dirty:north:2026-11-23" and not injected then
          injected = true
          put("day/north/2026-11-23/B-2002", { units = { ["ECG-ELEC"] = 10000 }, seq = 1 })
        end
        return ok
      end
      S.map({ id = "A-1001", type = "appointment.modified", at = "2026-11-21T09:00:00-05:00", code = "99213" })
      plugin._ledger_put = put
      assert.is_true(injected)
      -- A is at seq 2, B at seq 1
      assert.are.equal(3, json.decode(store["dirty:north:2026-11-23"]).revision)
      assert.are.equal(1, S.event_packs(S.poll()[1])["ECG-ELEC"])
    end)

    it("a day that keeps changing while it is marked fails the map as retryable, naming the key", function()
      local scan = plugin._ledger_scan
      local n = 0
      plugin._ledger_scan = function(prefix, after, limit)
        if prefix == "day/north/2026-11-23/" then
          n = n + 1
          plugin._ledger_put(("day/north/2026-11-23/X-%03d"):format(n), { units = {}, seq = 1 })
        end
        return scan(prefix, after, limit)
      end
      assert.has_error(function() S.map(A) end, {
        message = "dirty:north:2026-11-23: the day's demand kept changing while it was being marked (8 writes); try again",
        retryable = true })
      plugin._ledger_scan = scan
    end)
  end)

  describe("applied", function()
    it("a site-day whose applied revision is its dirty revision is not returned again", function()
      S.map(A)
      local results = S.sync()
      assert.are.equal("upsert", results["north 2026-11-23"].op)
      assert.are.same({}, S.poll("2026-11-21T16:00:00Z"))
      S.map(B)
      local events = S.poll("2026-11-21T16:15:00Z")
      assert.are.equal(1, #events)
      assert.are.equal(2, events[1].revision)
    end)

    it("a retried poll, before anything was mapped, returns the same events, byte for byte", function()
      S.map(A)
      S.map({ id = "S-1", site = "south", code = "99213" })
      local first = json.encode(S.poll("2026-11-21T15:00:00Z"))
      assert.are.equal(first, json.encode(S.poll("2026-11-21T15:00:00Z")))
      assert.is_nil(store["applied:north:2026-11-23"])
    end)

    it("a retried run whose delivery failed after map applied it returns the same events again; a later run does not", function()
      S.map(A)
      local due = "2026-11-21T15:00:00Z"
      local events = S.poll(due)
      deliver(events[1])                                                  -- mapped (applied), then odoo failed
      assert.are.equal(json.encode(events), json.encode(S.poll(due)))     -- the retry of that run: the same event
      assert.are.equal("upsert", deliver(S.poll(due)[1]).op)              -- and it is delivered again, not skipped
      assert.are.same({}, S.poll("2026-11-21T15:15:00Z"))                 -- the next run: nothing left to do
    end)

    it("the retry of an old run after a newer run applied the day returns nothing stale", function()
      S.map(A)
      deliver(S.poll("2026-11-21T15:00:00Z")[1])
      S.map(B)
      deliver(S.poll("2026-11-21T15:15:00Z")[1])
      assert.are.same({}, S.poll("2026-11-21T15:00:00Z"))
    end)

    it("an empty day never suggested is applied without an order, and not returned again", function()
      S.map({ id = "C-1", type = "appointment.cancelled", at = "2026-11-21T08:00:00-05:00" })
      local events = S.poll("2026-11-21T15:00:00Z")
      assert.are.same({}, events[1].lines)
      assert.are.same({ skip = "supply demand north 2026-11-23: nothing to order and no suggestion yet" }, deliver(events[1]))
      assert.is_nil(store["emitted/north/2026-11-23"])
      assert.are.same({}, S.poll("2026-11-21T15:15:00Z"))
    end)
  end)

  describe("a supply.demand_changed event", function()
    local function changed(edit)
      local e = fixture_json("fixtures/demand-changed.json")
      edit(e)
      return function() plugin.map(e, {}) end
    end

    it("becomes the order with its lines as given, named from the supplies map", function()
      local op = deliver(fixture_json("fixtures/demand-changed.json"))
      assert.are.equal("conflux.supply_north_20261123", op.key)
      assert.are.same({ name = "PAPER-EXAM Exam table paper (roll (about 150 patients))", product_qty = 1, price_unit = 8.25 },
        { name = op.values.order_line.lines[5].name, product_qty = op.values.order_line.lines[5].product_qty,
          price_unit = op.values.order_line.lines[5].price_unit })
      assert.are.same({ revision = 3, due = "2026-11-21T15:00:00Z" }, json.decode(store["applied:north:2026-11-23"]))
    end)

    it("is refused when malformed, naming the field", function()
      assert.has_error(changed(function(e) e.site = "" end), '$.site: expected the site (a non-empty string), got the string ""')
      assert.has_error(changed(function(e) e.day = "2026-11-23T00:00:00Z" end),
        '$.day: expected the procedure day as YYYY-MM-DD, got the string "2026-11-23T00:00:00Z"')
      assert.has_error(changed(function(e) e.revision = 2.5 end), "$.revision: expected a non-negative integer, got a number (2.5)")
      assert.has_error(changed(function(e) e.occurred_at = nil end), "$.occurred_at: expected an ISO 8601 date-time, got missing")
      assert.has_error(changed(function(e) e.lines = { sku = "ALC-PAD" } end),
        "$.lines: expected an array of {sku, quantity, price_unit}, got an object")
      assert.has_error(changed(function(e) e.lines[2].quantity = 0 end),
        "$.lines[1].quantity: expected a positive whole number of packs, got a number (0)")
      assert.has_error(changed(function(e) e.lines[1].sku = nil end), "$.lines[0].sku: expected a non-empty string, got missing")
      assert.has_error(changed(function(e) e.lines[3].price_unit = "12.50" end),
        '$.lines[2].price_unit: expected the price of a pack, got the string "12.50"')
    end)
  end)

  describe("the poll's input", function()
    it("is the scheduled run; without a due time it is refused, naming it", function()
      assert.has_error(function() plugin.poll(nil, {}) end,
        "$: expected the scheduled run {flow, schedule, plugin, hook, due}, got missing")
      local run = S.run()
      run.due = nil
      assert.has_error(function() plugin.poll(run, {}) end, "$.due: expected an ISO 8601 date-time, got missing")
    end)
  end)
end)
