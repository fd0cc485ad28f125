-- What the specs share: the appointment fixture with changes, the scheduled run, and the whole batch — poll, then
-- map each event it returns, as the supply flow's demand-sync schedule does.
local json = require("json")

return function(plugin, fixture_json)
  local S = { passes = 0 }

  -- An appointment event: the fixture with its id, type, time, start, site and service code changed.
  function S.event(changes)
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

  function S.map(changes) return plugin.map(S.event(changes), {}) end

  -- The scheduled run, due at `due` (default: the fixture's).
  function S.run(due)
    local run = fixture_json("fixtures/scheduled-run.json")
    run.due = due or run.due
    return run
  end

  function S.poll(due) return plugin.poll(S.run(due), {}) end

  -- One demand-sync pass: the events and what map made of each, by "site day". Each pass is a new run (due 15 minutes
  -- after the last one) unless `due` names the run.
  function S.sync(due)
    if not due then
      local minutes = 15 * S.passes
      S.passes = S.passes + 1
      due = ("2026-11-21T%02d:%02d:00Z"):format(15 + minutes // 60, minutes % 60)
    end
    local events, results = S.poll(due), {}
    for _, e in ipairs(events) do results[e.site .. " " .. e.day] = plugin.map(json.decode(json.encode(e)), {}) end
    return results, events
  end

  -- A purchase order's lines as { sku = packs }.
  function S.packs(op)
    local out = {}
    for _, line in ipairs(op.values.order_line.lines) do out[line.product_id.lookup.domain[1][3]] = line.product_qty end
    return out
  end

  -- An event's lines as { sku = packs }.
  function S.event_packs(e)
    local out = {}
    for _, line in ipairs(e.lines) do out[line.sku] = line.quantity end
    return out
  end

  return S
end
