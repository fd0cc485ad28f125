-- application/x-www-form-urlencoded, as Twilio's REST API takes it (and the WHATWG URL standard defines it): bytes
-- other than ALPHA, DIGIT and * - . _ become %XX (upper-case hex), a space becomes '+'. UTF-8 text is encoded byte by
-- byte, so "Clínica" arrives as Cl%C3%ADnica.
local M = {}

local function escape(byte) return ("%%%02X"):format(byte:byte()) end

function M.component(value)
  return (tostring(value):gsub("[^%w*%-._ ]", escape):gsub(" ", "+"))
end

-- A URL query component (RFC 3986): unreserved kept, everything else %XX, a space %20 (never '+', which some
-- servers read literally in a query).
function M.query_component(value)
  return (tostring(value):gsub("[^%w%-._~]", escape))
end

-- Fields in the given order: { {name, value}, … }; a nil value leaves its field out.
function M.encode(fields)
  local parts = {}
  for _, field in ipairs(fields) do
    if field[2] ~= nil then parts[#parts + 1] = M.component(field[1]) .. "=" .. M.component(field[2]) end
  end
  return table.concat(parts, "&")
end

return M
