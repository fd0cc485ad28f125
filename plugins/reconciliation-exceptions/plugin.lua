-- reconciliation-exceptions: a mapping plugin. A `reconciliation.drift` event (the odoo connector's nightly
-- comparison of what Conflux delivered with what Odoo holds) becomes a to-do for the finance team on the record that
-- drifted — an actionable exception in the place they work. Nothing is corrected: a person decides which side is right.
local crypto = require("crypto")
local conflux = require("conflux")

local M = { kind = "mapping" }

local function need(event, field)
  local value = event[field]
  if value == nil or value == "" then error(conflux.permanent(("reconciliation.drift: $.%s is missing"):format(field)), 0) end
  return value
end

function M.map(event, ctx)
  if event.type ~= "reconciliation.drift" then
    error(conflux.permanent(("expected a reconciliation.drift event, got %s"):format(tostring(event.type))), 0)
  end
  local key, field = need(event, "key"), need(event, "field")
  local record_key = event.record_key
  if record_key == nil or record_key == "" then
    error(conflux.permanent(("reconciliation.drift for %s (%s): no record in Odoo to attach the exception to — see this dead letter"):format(key, field)), 0)
  end
  -- One to-do per distinct difference: the same drift found again tomorrow is the same activity, not a second one.
  local fingerprint = crypto.sha256(table.concat({ key, field, tostring(event.expected), tostring(event.actual) }, "|")):sub(1, 16)
  local model = field == "record" and "res.partner" or need(event, "model")
  return {
    op = "activity",
    key = "conflux.drift_" .. fingerprint,
    model = model,
    record = { xmlid = record_key },
    summary = ("Reconciliation: %s differs"):format(field),
    note = ("%s. Expected %s, found %s. Conflux did not change anything; correct the side that is wrong (%s, flow %s)."):format(
      tostring(event.summary or key), tostring(event.expected), tostring(event.actual), key, tostring(ctx and ctx.flow or "?")),
  }
end

return M
