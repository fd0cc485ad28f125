-- remittance-835: a source plugin. A payer's remittance advice — an ASC X12 5010 835 (005010X221A1), posted as
-- application/edi-x12 or text/plain — becomes one `claim.adjudicated` event per claim (CLP loop): what the payer
-- paid for which service, what the patient owes, and why the rest was adjusted.
--
-- The host's strict X12 parser (`x12.parse`) checks the envelopes (ISA/IEA, GS/GE, ST/SE, control numbers and counts)
-- and splits segments; this plugin reads the 835's meaning and checks it (and, on a production server — ctx.env —
-- refuses a test interchange, ISA15 = T):
--
--   BPR   BPR01 handling, BPR02 total paid, BPR03 credit/debit, BPR04 payment method, BPR16 payment date (CCYYMMDD)
--   TRN   TRN02 the check or EFT trace number (with CLP01 it keys each event)
--   N1    N1*PR payer name (loop 1000A), N1*PE payee (loop 1000B)
--   CLP   CLP01 patient control number = our service id, CLP02 status, CLP03 charged, CLP04 paid,
--         CLP05 patient responsibility, CLP07 payer claim control number
--   CAS   adjustments: CAS01 group, then up to six (reason, amount, quantity) triplets; after a CLP they belong to the
--         claim, after an SVC to that service line
--   SVC   service lines: SVC01 composite (qualifier:code:modifiers…), SVC02 charge, SVC03 paid, SVC05 units
--   PLB   provider-level adjustments: (reason:reference, amount) pairs
--
-- and the balancing rules of the 835: BPR02 = Σ CLP04 − Σ PLB amounts (negated when BPR03 is D); per claim
-- CLP03 − CLP04 = Σ CAS amounts of the claim and its lines; per line SVC02 − SVC03 = Σ CAS amounts of the line.
-- A remittance that does not balance is refused as a whole: booking part of it would leave Odoo out of step with the
-- money that actually arrived.
--
-- Every error names where: "segment 14 (CLP) element CLP04: 'abc' is not an amount" (position in the interchange,
-- counting ISA as 1). Amounts are computed in integer cents and emitted as currency units (numbers).
--
-- Data minimisation: the patient's name and member id (NM1*QC), dates of service and other clinical detail are not
-- passed on; what leaves is the claim's money, its status, the payer, and the billed codes per line.
local x12 = require("x12")
local json = require("json")

local M = { kind = "source" }

local TRANSACTION = "835"
local FUNCTIONAL_GROUP = "HP"
local VERSION_PREFIX = "005010X221"

local HANDLING_CODES = { C = true, D = true, H = true, I = true, P = true, U = true, X = true }
local PAYMENT_METHODS = { ACH = true, BOP = true, CHK = true, FWT = true, NON = true }
local CLAIM_STATUS_CODES = {
  ["1"] = true, ["2"] = true, ["3"] = true, ["4"] = true, ["19"] = true, ["20"] = true,
  ["21"] = true, ["22"] = true, ["23"] = true, ["25"] = true,
}
local ADJUSTMENT_GROUPS = { CO = true, OA = true, PI = true, PR = true }

-- Our service ids are plain tokens (they become parts of Odoo external ids downstream).
local SERVICE_ID_PATTERN = "^[%w][%w_.%-]*$"

-- ===== Errors that name the place =====

local function element_name(segment, n) return ("%s%02d"):format(segment.id, n) end

local function fail_at(segment, n, message)
  local place = ("segment %d (%s)"):format(segment.position, segment.id)
  if n then place = place .. " element " .. element_name(segment, n) end
  error(place .. ": " .. message, 0)
end

-- ===== Elements =====

local function value(segment, n) return segment.values[n] or "" end

local function required(segment, n, what)
  local text = value(segment, n)
  if text == "" then fail_at(segment, n, "missing (" .. what .. ")") end
  return text
end

local function one_of(segment, n, codes, what)
  local text = required(segment, n, what)
  if not codes[text] then
    local list = {}
    for code in pairs(codes) do list[#list + 1] = code end
    table.sort(list, function(a, b)
      local x, y = tonumber(a), tonumber(b)
      if x and y then return x < y end
      return a < b
    end)
    fail_at(segment, n, ("'%s' is not a %s (%s)"):format(text, what, table.concat(list, ", ")))
  end
  return text
end

-- X12's decimal type (R) as integer cents: an optional minus, digits, an optional point. Money has at most two
-- decimals that matter ("12.500" is 1250 cents; "12.505" is refused rather than rounded).
local function _cents(text)
  local sign, whole, fraction = text:match("^(%-?)(%d*)%.?(%d*)$")
  if sign == nil or (whole == "" and fraction == "") then
    return nil, "is not an amount"
  end
  if #whole > 13 then return nil, "is too large an amount" end
  if #fraction > 2 then
    if not fraction:sub(3):match("^0+$") then return nil, "has fractions of a cent" end
    fraction = fraction:sub(1, 2)
  end
  fraction = (fraction .. "00"):sub(1, 2)
  local cents = (tonumber(whole) or 0) * 100 + tonumber(fraction)
  if sign == "-" then cents = -cents end
  return math.tointeger(cents)
end

local function amount_at(segment, n, what, default)
  local text = value(segment, n)
  if text == "" then
    if default ~= nil then return default end
    fail_at(segment, n, "missing (" .. what .. ")")
  end
  local cents, problem = _cents(text)
  if cents == nil then fail_at(segment, n, ("'%s' %s"):format(text, problem)) end
  return cents
end

local function units(cents) return cents / 100 end

local function money(cents)
  local sign = cents < 0 and "-" or ""
  local magnitude = math.abs(cents)
  return ("%s%d.%02d"):format(sign, magnitude // 100, magnitude % 100)
end

local function _is_leap(year) return year % 4 == 0 and (year % 100 ~= 0 or year % 400 == 0) end

-- CCYYMMDD as YYYY-MM-DD, or nil when it is no calendar date.
local function _date(text)
  local y, m, d = text:match("^(%d%d%d%d)(%d%d)(%d%d)$")
  if not y then return nil end
  local year, month, day = tonumber(y), tonumber(m), tonumber(d)
  local days = { 31, _is_leap(year) and 29 or 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  if month < 1 or month > 12 or day < 1 or day > days[month] then return nil end
  return ("%s-%s-%s"):format(y, m, d)
end

local function date_at(segment, n, what)
  local text = required(segment, n, what)
  local date = _date(text)
  if date == nil then fail_at(segment, n, ("'%s' is not a date (CCYYMMDD)"):format(text)) end
  return date
end

local function number_at(segment, n, default)
  local text = value(segment, n)
  if text == "" then return default end
  if not text:match("^%-?%d*%.?%d+$") and not text:match("^%-?%d+%.?$") then
    fail_at(segment, n, ("'%s' is not a number"):format(text))
  end
  return tonumber(text)
end

-- ===== Segments =====

local function _bpr(segment)
  return {
    handling = one_of(segment, 1, HANDLING_CODES, "transaction handling code"),
    total = amount_at(segment, 2, "total actual provider payment amount"),
    credit_debit = one_of(segment, 3, { C = true, D = true }, "credit/debit flag"),
    method = one_of(segment, 4, PAYMENT_METHODS, "payment method code"),
    date = date_at(segment, 16, "payment date"),
    segment = segment,
  }
end

local function _trn(segment)
  if value(segment, 1) ~= "1" then
    fail_at(segment, 1, ("'%s' is not 1 (current transaction trace numbers)"):format(value(segment, 1)))
  end
  return required(segment, 2, "check or EFT trace number")
end

-- CAS: a group code, then up to six triplets (reason, amount, quantity) in elements 2–4, 5–7, … 17–19.
local function _cas(segment)
  local group = one_of(segment, 1, ADJUSTMENT_GROUPS, "claim adjustment group code")
  local adjustments, total = {}, 0
  for first = 2, 17, 3 do
    local reason, amount_text = value(segment, first), value(segment, first + 1)
    if reason == "" then
      if amount_text ~= "" or value(segment, first + 2) ~= "" then
        fail_at(segment, first, "missing (adjustment reason code for the amount in " .. element_name(segment, first + 1) .. ")")
      end
      if first == 2 then fail_at(segment, 2, "missing (adjustment reason code)") end
    else
      local cents = amount_at(segment, first + 1, "adjustment amount")
      local adjustment = { group = group, reason = reason, amount = units(cents) }
      adjustment.quantity = number_at(segment, first + 2, nil)
      adjustments[#adjustments + 1] = adjustment
      total = total + cents
    end
  end
  return adjustments, total
end

local function _svc(segment)
  local composite = segment.elements[1] and segment.elements[1][1] or {}
  local qualifier, code = composite[1] or "", composite[2] or ""
  if qualifier == "" then fail_at(segment, 1, "missing (product/service id qualifier, like HC)") end
  if code == "" then fail_at(segment, 1, ("'%s' has no procedure code (expected %s:CODE)"):format(qualifier, qualifier)) end
  local modifiers = {}
  for i = 3, 6 do
    if composite[i] ~= nil and composite[i] ~= "" then modifiers[#modifiers + 1] = composite[i] end
  end
  return {
    qualifier = qualifier,
    code = code,
    modifiers = json.array(modifiers),
    charged_cents = amount_at(segment, 2, "line item charge amount"),
    paid_cents = amount_at(segment, 3, "line item provider payment amount"),
    units = number_at(segment, 5, 1),
    adjustments = {},
    adjustment_cents = 0,
    segment = segment,
  }
end

local function _clp(segment)
  local id = required(segment, 1, "patient control number")
  if not id:match(SERVICE_ID_PATTERN) then
    fail_at(segment, 1, ("'%s' is not one of our service ids (letters, digits, '_', '-' and '.')"):format(id))
  end
  return {
    id = id,
    status_code = one_of(segment, 2, CLAIM_STATUS_CODES, "claim status code"),
    charged_cents = amount_at(segment, 3, "total claim charge amount"),
    paid_cents = amount_at(segment, 4, "claim payment amount"),
    patient_cents = amount_at(segment, 5, "patient responsibility amount", 0),
    claim_control = required(segment, 7, "payer claim control number"),
    adjustments = {},
    adjustment_cents = 0, -- claim and line adjustments together, for the balancing rule
    lines = {},
    segment = segment,
  }
end

-- PLB: provider id, fiscal period date, then (reason:reference, amount) pairs in elements 3–4 … 13–14.
local function _plb(segment)
  required(segment, 1, "provider identifier")
  date_at(segment, 2, "fiscal period date")
  local total = 0
  for first = 3, 13, 2 do
    local reason = value(segment, first)
    if reason == "" then
      if value(segment, first + 1) ~= "" then
        fail_at(segment, first, "missing (adjustment reason for the amount in " .. element_name(segment, first + 1) .. ")")
      end
      if first == 3 then fail_at(segment, 3, "missing (provider adjustment reason)") end
    else
      total = total + amount_at(segment, first + 1, "provider adjustment amount")
    end
  end
  return total
end

-- ===== A transaction set =====

local function _status(claim)
  if claim.status_code == "4" then return "denied" end
  if claim.status_code == "22" then return "reversed" end
  if claim.paid_cents == claim.charged_cents then return "paid" end
  return "partial"
end

local function _check_balance(claim)
  for _, line in ipairs(claim.lines) do
    local expected = line.charged_cents - line.adjustment_cents
    if expected ~= line.paid_cents then
      fail_at(line.segment, 3, ("line %s:%s paid %s, but its charge %s minus its adjustments (CAS) %s is %s")
        :format(line.qualifier, line.code, money(line.paid_cents), money(line.charged_cents),
          money(line.adjustment_cents), money(expected)))
    end
  end
  local expected = claim.charged_cents - claim.adjustment_cents
  if expected ~= claim.paid_cents then
    fail_at(claim.segment, 4, ("claim %s paid %s, but its charge %s minus its adjustments (CAS) %s is %s")
      :format(claim.id, money(claim.paid_cents), money(claim.charged_cents), money(claim.adjustment_cents), money(expected)))
  end
end

local function _transaction(transaction)
  local segments = transaction.segments
  local st = segments[1]
  if transaction.code ~= TRANSACTION then
    fail_at(st, 1, ("expected an 835 remittance advice, found transaction set '%s'"):format(transaction.code))
  end
  local bpr_segment, trn_segment = segments[2], segments[3]
  if bpr_segment == nil or bpr_segment.id ~= "BPR" then
    fail_at(bpr_segment or st, nil, "expected BPR (financial information) right after ST")
  end
  if trn_segment == nil or trn_segment.id ~= "TRN" then
    fail_at(trn_segment or bpr_segment, nil, "expected TRN (reassociation trace number) right after BPR")
  end
  local bpr = _bpr(bpr_segment)
  local trace = _trn(trn_segment)

  local payer, payee
  local claims, claim, line = {}, nil, nil
  local plb_cents, plb_seen, paid_cents = 0, false, 0
  for i = 4, #segments - 1 do
    local segment = segments[i]
    local id = segment.id
    if id == "BPR" or id == "TRN" then
      fail_at(segment, nil, ("a second %s in transaction set %s"):format(id, transaction.control))
    elseif id == "N1" then
      if claim ~= nil or plb_seen then fail_at(segment, nil, "N1 belongs in the header (loops 1000A and 1000B), before the claims") end
      local role = value(segment, 1)
      if role == "PR" then
        if payer then fail_at(segment, 1, "a second payer (N1*PR)") end
        payer = { name = required(segment, 2, "payer name") }
      elseif role == "PE" then
        if payee then fail_at(segment, 1, "a second payee (N1*PE)") end
        payee = { name = required(segment, 2, "payee name") }
        if value(segment, 3) ~= "" then
          payee.id_qualifier = value(segment, 3)
          payee.id = required(segment, 4, "payee identification code")
        end
      end
    elseif id == "LX" then
      if plb_seen then fail_at(segment, nil, "LX after PLB: provider adjustments close the transaction set") end
      claim, line = nil, nil
    elseif id == "CLP" then
      if plb_seen then fail_at(segment, nil, "CLP after PLB: provider adjustments close the transaction set") end
      claim, line = _clp(segment), nil
      claims[#claims + 1] = claim
      paid_cents = paid_cents + claim.paid_cents
    elseif id == "SVC" then
      if claim == nil then fail_at(segment, nil, "SVC outside a claim (no CLP before it)") end
      line = _svc(segment)
      claim.lines[#claim.lines + 1] = line
    elseif id == "CAS" then
      if claim == nil then fail_at(segment, nil, "CAS outside a claim (no CLP before it)") end
      local adjustments, cents = _cas(segment)
      local owner = line or claim
      for _, adjustment in ipairs(adjustments) do owner.adjustments[#owner.adjustments + 1] = adjustment end
      if line then line.adjustment_cents = line.adjustment_cents + cents end
      claim.adjustment_cents = claim.adjustment_cents + cents
    elseif id == "PLB" then
      claim, line, plb_seen = nil, nil, true
      plb_cents = plb_cents + _plb(segment)
    end
  end
  if payer == nil then fail_at(st, nil, ("transaction set %s has no payer (N1*PR, loop 1000A)"):format(transaction.control)) end
  if payee == nil then fail_at(st, nil, ("transaction set %s has no payee (N1*PE, loop 1000B)"):format(transaction.control)) end

  for _, c in ipairs(claims) do _check_balance(c) end
  local expected = paid_cents - plb_cents
  local total = bpr.credit_debit == "D" and -bpr.total or bpr.total
  if total ~= expected then
    fail_at(bpr.segment, 2, ("total paid %s%s does not equal the claims' payments (CLP04) %s minus provider adjustments (PLB) %s = %s")
      :format(money(bpr.total), bpr.credit_debit == "D" and " (debit)" or "", money(paid_cents), money(plb_cents), money(expected)))
  end
  return { trace = trace, bpr = bpr, payer = payer, payee = payee, claims = claims }
end

-- ===== Events =====

local function _adjustments(list) return json.array(list) end

local function _event(remittance, claim, key)
  local lines = {}
  for i, line in ipairs(claim.lines) do
    lines[i] = {
      qualifier = line.qualifier,
      code = line.code,
      modifiers = line.modifiers,
      charged = units(line.charged_cents),
      paid = units(line.paid_cents),
      units = line.units,
      adjustments = _adjustments(line.adjustments),
    }
  end
  return {
    type = "claim.adjudicated",
    idempotency_key = key,
    claim = {
      id = claim.id,
      service_id = claim.id,
      status = _status(claim),
      status_code = claim.status_code,
      charged = units(claim.charged_cents),
      paid = units(claim.paid_cents),
      patient_responsibility = units(claim.patient_cents),
      payer = { name = remittance.payer.name, claim_control = claim.claim_control },
      payee = remittance.payee,
      payment = { date = remittance.bpr.date, trace = remittance.trace, method = remittance.bpr.method },
      adjustments = _adjustments(claim.adjustments),
      lines = json.array(lines),
    },
  }
end

-- The position of each group's GS: ISA is 1, a group's segments follow its GS, and its GE follows its last SE.
local function _group_positions(interchange)
  local positions, cursor = {}, 1
  for g, group in ipairs(interchange.groups) do
    positions[g] = cursor + 1
    cursor = cursor + 1
    for _, transaction in ipairs(group.transactions) do
      cursor = transaction.segments[#transaction.segments].position
    end
    cursor = cursor + 1
  end
  return positions
end

function M.decode(payload, ctx)
  if type(payload) ~= "string" or payload:match("^%s*$") then
    error("empty payload: expected an X12 835 interchange", 0)
  end
  local interchange, problem = x12.parse(payload)
  if interchange == nil then error("not a valid X12 interchange: " .. tostring(problem), 0) end
  -- ISA15 T: a payer's or clearinghouse's test data. Its money never arrived, so a production server must not book
  -- it (it would mark invoices paid); dev and staging take it, since partners test against them.
  if interchange.usage == "T" and type(ctx) == "table" and ctx.env == "production" then
    fail_at({ id = "ISA", position = 1 }, 15,
            "'T' marks a test interchange; a production server books only P (production) remittances — the sender's test data reached the production endpoint")
  end

  local events, seen = {}, {}
  local positions = _group_positions(interchange)
  for g, group in ipairs(interchange.groups) do
    local gs = { id = "GS", position = positions[g] }
    if group.code ~= FUNCTIONAL_GROUP then
      fail_at(gs, 1, ("expected HP (health care claim payment/advice), found '%s'"):format(group.code))
    end
    if group.version:sub(1, #VERSION_PREFIX) ~= VERSION_PREFIX then
      fail_at(gs, 8, ("expected 005010X221A1 (the 835's 5010 implementation guide), found '%s'"):format(group.version))
    end
    for _, transaction in ipairs(group.transactions) do
      local remittance = _transaction(transaction)
      for _, claim in ipairs(remittance.claims) do
        -- A claim can appear twice in one remittance (a reversal and its correction): each gets its own key.
        local base = "835:" .. remittance.trace .. "/" .. claim.id
        seen[base] = (seen[base] or 0) + 1
        local key = seen[base] == 1 and base or (base .. "#" .. seen[base])
        events[#events + 1] = _event(remittance, claim, key)
      end
    end
  end
  return json.array(events)
end

return M
