-- The mapping measured by `conflux bench map` and by the lua5.4 + lua-cjson baseline (bench/cjson_baseline.lua):
-- a completed appointment → an Odoo customer-invoice operation. Plain Lua only (no host modules) so the very same
-- file runs in both.
local M = {}

local products = { ["99213"] = 101, ["36415"] = 102, ["85025"] = 103 }

function M.map(event, ctx)
  local patient, appointment = event.patient, event.appointment
  local lines, total = {}, 0
  for i, line in ipairs(event.lines) do
    local subtotal = line.quantity * line.unit_price
    total = total + subtotal
    lines[i] = {
      product_id = products[line.code] or false,
      name = line.code .. " " .. line.description,
      quantity = line.quantity,
      price_unit = line.unit_price,
    }
  end
  return {
    model = "account.move",
    external_id = "conflux_apt_" .. appointment.id,
    values = {
      move_type = "out_invoice",
      partner_ref = patient.mrn,
      partner_name = patient.given_name .. " " .. patient.family_name,
      invoice_date = string.sub(appointment.start, 1, 10),
      ref = event.id,
      narration = string.format("%s visit at %s with %s", appointment.visit_type, event.site.name, event.provider.name),
      currency = event.currency,
      amount_total = total,
      payer_member = event.payer.member_id,
      invoice_line_ids = lines,
    },
    correlation_id = event.correlation_id,
  }
end

return M
