-- application/x-www-form-urlencoded decoding, strict: '+' is a space, %XX a byte, anything else after '%' is refused;
-- every error names the field (by name, else by position) so a dead letter says what the provider sent wrong.
local M = {}

local function unescape(text, where)
  local bad = text:match("%%%x?[^%x]") or text:match("%%%x?$")
  if bad then error(("%s: %q is not a percent-escape (%%XX)"):format(where, bad), 0) end
  local out = text:gsub("+", " "):gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end)
  if not utf8.len(out) then error(("%s: not valid UTF-8 once decoded"):format(where), 0) end
  return out
end

-- The fields as name → value. A name given twice is refused: which one the sender meant cannot be known.
function M.decode(body)
  if type(body) ~= "string" or body == "" then error("form: the body is empty (expected name=value&… fields)", 0) end
  body = body:gsub("\r?\n$", "") -- a line end after the body (a file posted with curl -d @file) is no field's
  local fields, position = {}, 0
  for pair in body:gmatch("[^&]+") do
    position = position + 1
    local raw_name, raw_value = pair:match("^([^=]*)=(.*)$")
    if not raw_name then raw_name, raw_value = pair, "" end
    local name = unescape(raw_name, ("form field %d (name)"):format(position))
    if name == "" then error(("form field %d: has no name"):format(position), 0) end
    local where = ("form field %d (%s)"):format(position, name)
    if fields[name] ~= nil then error(("%s: given twice"):format(where), 0) end
    fields[name] = unescape(raw_value, where)
  end
  if position == 0 then error("form: the body has no fields", 0) end
  return fields
end

return M
