-- appointment-invoice: a mapping plugin. A completed appointment (the scheduling system's canonical
-- `appointment.completed` event) becomes one Odoo customer-invoice operation, keyed by an external id so a
-- redelivered event updates the same invoice instead of creating a second one.
--
-- Data minimisation: the operation carries what a finance team needs (the patient's MRN and name, the payer's member
-- id, billed codes and amounts) and nothing clinical (no notes, no diagnoses, no birth date or contact details).
local M = { kind = "mapping" }

-- Service codes (CPT/HCPCS) to Odoo product ids. In production this value map lives in the catalog as data.
local products = {
  ["99213"] = { id = 101, name = "Office visit, established patient" },
  ["36415"] = { id = 102, name = "Venipuncture" },
  ["85025"] = { id = 103, name = "Complete blood count" },
}

local function required(value, field)
  if value == nil then error(("appointment.completed event: missing field '%s'"):format(field), 3) end
  return value
end

-- Amounts in cents, so 3 × 18.5 is exactly 5550 and totals never drift by a float rounding.
local function cents(amount) return math.floor(amount * 100 + 0.5) end

function M.map(event, ctx)
  if event.type ~= "appointment.completed" then
    error(("expected an appointment.completed event, got %s"):format(tostring(event.type)), 2)
  end
  local appointment = required(event.appointment, "appointment")
  local patient = required(event.patient, "patient")
  local lines, total = {}, 0
  for i, line in ipairs(required(event.lines, "lines")) do
    local product = products[line.code]
    if product == nil then
      error(("line %d: service code %s has no Odoo product in the value map"):format(i, tostring(line.code)), 2)
    end
    local subtotal = cents(line.unit_price) * line.quantity
    total = total + subtotal
    lines[i] = {
      product_id = product.id,
      name = line.code .. " " .. product.name,
      quantity = line.quantity,
      price_unit_cents = cents(line.unit_price),
    }
  end
  return {
    model = "account.move",
    external_id = "conflux_appointment_" .. required(appointment.id, "appointment.id"),
    values = {
      move_type = "out_invoice",
      partner_ref = required(patient.mrn, "patient.mrn"),
      partner_name = patient.given_name .. " " .. patient.family_name,
      invoice_date = string.sub(required(appointment.start, "appointment.start"), 1, 10),
      ref = event.id,
      currency = event.currency or "USD",
      amount_total_cents = total,
      payer_member_id = event.payer and event.payer.member_id or false,
      invoice_line_ids = lines,
    },
    post = appointment.status == "completed",
    correlation_id = event.correlation_id,
  }
end

return M
