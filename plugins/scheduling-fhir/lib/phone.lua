-- Telephone numbers to E.164 ("+15555550123"), the form SMS gateways and Odoo's phone fields take. Plugins do not
-- share code (each folder is reviewed and hashed on its own), so the scheduling sources each carry this same file.
--
-- Rules: a number written with a leading "+" is international and kept when it has 8–15 digits (+1 numbers must be
-- NANP: 10 digits after the 1); otherwise 10 digits, or 11 starting with 1, are a US/NANP number and get "+1". NANP
-- area codes and exchanges start with 2–9. An extension ("x123", "ext. 12") is dropped: it cannot be dialled or
-- texted. Anything else is not a number we can use: nil and the reason (never the number itself, which is PII).
local P = {}

local function nanp(ten)
  if not ten:match("^[2-9]%d%d[2-9]%d%d%d%d%d%d$") then
    return nil, "not a valid US number (area code and exchange start with 2-9)"
  end
  return "+1" .. ten
end

-- `text`: the number as written; `country`: a separate country code (HL7 XTN-5), if any.
function P.e164(text, country)
  if type(text) ~= "string" then return nil, "not a string" end
  local number = text:lower():gsub("%s*e?xt?%.?%s*%d+%s*$", "")   -- "… x123", "… ext. 123"
  local international = number:match("^%s*%+") ~= nil
  if number:find("[^%d%s%+%-%.%(%)/]") then return nil, "has characters a telephone number does not" end
  local digits = number:gsub("%D", "")
  local cc = type(country) == "string" and country:gsub("%D", "") or ""
  if cc ~= "" and not international then
    if cc == "1" then return nanp(digits) end
    digits, international = cc .. digits, true
  end
  if international then
    if digits:sub(1, 1) == "1" then
      if #digits ~= 11 then return nil, "a +1 number needs 10 digits after the country code" end
      return nanp(digits:sub(2))
    end
    if #digits < 8 or #digits > 15 or digits:sub(1, 1) == "0" then
      return nil, "not an international number (8-15 digits after +, no leading 0)"
    end
    return "+" .. digits
  end
  if #digits == 11 and digits:sub(1, 1) == "1" then return nanp(digits:sub(2)) end
  if #digits == 10 then return nanp(digits) end
  return nil, "neither a 10-digit US number nor an international number with +"
end

-- A plain e-mail address check: one @, no white space, a dot in the domain. Mail servers decide the rest.
function P.email(text)
  if type(text) ~= "string" then return nil end
  local address = text:match("^%s*(.-)%s*$")
  if address:match("^[^%s@]+@[^%s@]+%.[^%s@.]+$") then return address end
  return nil
end

return P
