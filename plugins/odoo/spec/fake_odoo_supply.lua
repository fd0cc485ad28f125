-- The fake Odoo's supply side, installed by spec/fake_odoo.lua: purchase orders and their confirmation, receipts
-- (stock.picking) and their validation into stock.quant, and the chatter (message_post → mail.message), with the
-- state rules of the Odoo simulator the brief describes. `fake:seed_supply()` adds what a clinic's Odoo holds before
-- Conflux orders anything: the supplier, the consumables (default_code = the supplier's SKU) and the stock locations.
local M = {}

function M.install(parts)
  local Fake, API, odoo_error, DEFAULTS = parts.Fake, parts.API, parts.odoo_error, parts.M.DEFAULTS
  local sequences = {}

  local function next_name(self, model, pattern)
    sequences[self] = sequences[self] or {}
    sequences[self][model] = (sequences[self][model] or 0) + 1
    return pattern:format(sequences[self][model])
  end

  DEFAULTS["purchase.order"] = function(self, rec)
    rec.state, rec.name, rec.x_supplier_status = "draft", next_name(self, "purchase.order", "P%05d"), "none"
  end
  DEFAULTS["stock.picking"] = function(self, rec)
    rec.state, rec.name = "draft", next_name(self, "stock.picking", "WH/IN/%05d")
  end
  DEFAULTS["stock.move"] = function(_, rec) rec.state = "draft" end

  function Fake:seed_supply()
    local ids = self.ids
    ids.supplier = self:add("res.partner", { name = "MedSupply Direct", ref = "MEDSUPPLY", supplier_rank = 1 })
    for _, sku in ipairs({ "GLV-NIT-M", "SYR-3ML", "NDL-23G", "ALC-PAD", "TUBE-SST-5", "ECG-ELEC", "GAUZE-2X2", "FLU-QUAD-10",
                           "BANDAGE", "PAPER-EXAM" }) do
      ids[sku] = self:add("product.product", { default_code = sku, name = sku, type = "consu", standard_price = 10.0 })
    end
    ids.north = self:add("stock.location", { name = "NORTH/Stock", usage = "internal", x_site = "north" })
    ids.south = self:add("stock.location", { name = "SOUTH/Stock", usage = "internal", x_site = "south" })
    ids.vendors = self:add("stock.location", { name = "Partners/Vendors", usage = "supplier" })
    return ids
  end

  -- What Odoo holds on hand of a product at a location (the sum of its quants).
  function Fake:on_hand(product, location)
    local total = 0
    for _, quant in ipairs(self:all("stock.quant")) do
      if quant.product_id == product and quant.location_id == location then total = total + quant.quantity end
    end
    return total
  end

  function Fake:_add_quant(product, location, quantity)
    for _, quant in ipairs(self:all("stock.quant")) do
      if quant.product_id == product and quant.location_id == location then
        quant.quantity = quant.quantity + quantity
        return
      end
    end
    self:add("stock.quant", { product_id = product, location_id = location, quantity = quantity })
  end

  -- mail.thread's message_post: a note in the record's chatter; returns the message's id.
  function API.message_post(self, model, ids, kw)
    if #ids ~= 1 then self:problem(model .. ".message_post: one record at a time") end
    self:_existing(model, ids[1])
    if type(kw.body) ~= "string" or kw.body == "" then self:problem(model .. ".message_post needs a body") end
    return self:add("mail.message", { model = model, res_id = ids[1], body = kw.body, message_type = kw.message_type or "notification",
                                      subtype_xmlid = kw.subtype_xmlid, date = "2026-11-24 06:00:00" })
  end

  function API.button_confirm(self, model, ids)
    if model ~= "purchase.order" then self:problem(model .. " has no button_confirm") end
    for _, id in ipairs(ids) do
      local rec = self:_existing(model, id)
      if rec.state ~= "draft" and rec.state ~= "sent" then
        odoo_error("odoo.exceptions.UserError", ("Order %s is %s: only a draft or sent RFQ can be confirmed."):format(rec.name, rec.state))
      end
      rec.state = "purchase"
    end
    return true
  end

  function API.button_cancel(self, model, ids)
    if model ~= "purchase.order" and model ~= "stock.picking" then self:problem(model .. " has no button_cancel") end
    for _, id in ipairs(ids) do
      local rec = self:_existing(model, id)
      if rec.state == "done" then odoo_error("odoo.exceptions.UserError", "You cannot cancel a done " .. model .. ".") end
      rec.state = "cancel"
    end
    return true
  end

  -- Validating a receipt: done, each move's quantity into stock at its destination (out of an internal source), and
  -- the order's lines of the same product received.
  function API.button_validate(self, model, ids)
    if model ~= "stock.picking" then self:problem(model .. " has no button_validate") end
    for _, id in ipairs(ids) do
      local picking = self:_existing(model, id)
      if picking.state == "done" or picking.state == "cancel" then
        odoo_error("odoo.exceptions.UserError", ("The transfer %s is %s: it cannot be validated again."):format(picking.name, picking.state))
      end
      if #(picking.move_ids or {}) == 0 then odoo_error("odoo.exceptions.UserError", "You cannot validate a transfer if no quantities are reserved.") end
      for _, move_id in ipairs(picking.move_ids) do
        local move = self:record("stock.move", move_id)
        local quantity = move.quantity or 0
        local destination = move.location_dest_id or picking.location_dest_id
        local source = move.location_id or picking.location_id
        self:_add_quant(move.product_id, destination, quantity)
        local from = self:record("stock.location", source)
        if from and from.usage == "internal" then self:_add_quant(move.product_id, source, -quantity) end
        move.state = "done"
        if picking.purchase_id then
          for _, line_id in ipairs(self:record("purchase.order", picking.purchase_id).order_line or {}) do
            local line = self:record("purchase.order.line", line_id)
            if line.product_id == move.product_id then line.qty_received = (line.qty_received or 0) + quantity; break end
          end
        end
      end
      picking.state = "done"
    end
    return true
  end
end

return M
