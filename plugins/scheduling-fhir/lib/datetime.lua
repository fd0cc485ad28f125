-- ISO 8601 date-times to UTC, by arithmetic on the proleptic Gregorian calendar (days from 1970-01-01), so neither the
-- host's time zone nor os.time's local-time rules can shift a result. Plugins do not share code (each folder is
-- reviewed and hashed on its own), so the scheduling plugins each carry this same file.
local D = {}

local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function leap(y) return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) end

-- Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil), and back.
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (m > 2 and m - 3 or m + 9) + 2) // 5 + d - 1
  return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = z // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d, m = doy - (153 * mp + 2) // 5 + 1, mp < 10 and mp + 3 or mp - 9
  return yoe + era * 400 + (m <= 2 and 1 or 0), m, d
end

-- "YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm|±hhmm]" → { epoch = whole UTC seconds, fraction = the part of a second
-- (0 ≤ f < 1), offset = minutes east of UTC or nil when the text has no zone (epoch then reads the wall time as UTC) },
-- or nil and what is wrong.
function D.parse(text)
  if type(text) ~= "string" then return nil, "is not a string" end
  local y, mo, d, h, mi, rest = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d)(.*)$")
  if not y then return nil, "is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss±hh:mm)" end
  y, mo, d, h, mi = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi)
  local s, fraction = 0, 0
  local seconds, after = rest:match("^:(%d%d)(.*)$")
  if seconds then
    s, rest = tonumber(seconds), after
    local digits, tail = rest:match("^[.,](%d+)(.*)$")
    if digits then fraction, rest = tonumber("0." .. digits), tail end
  end
  local offset
  if rest == "Z" then offset = 0
  elseif rest ~= "" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil, "has an unreadable UTC offset" end
    oh, om = tonumber(oh), tonumber(om)
    if oh > 14 or om > 59 then return nil, "has a UTC offset out of range" end
    offset = (oh * 60 + om) * (sign == "-" and -1 or 1)
  end
  local last = mo >= 1 and mo <= 12 and ((mo == 2 and leap(y)) and 29 or DAYS_IN_MONTH[mo])
  if not last or d < 1 or d > last then return nil, "is not a calendar date" end
  if h > 23 or mi > 59 or s > 59 then return nil, "is not a time of day" end
  local epoch = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - (offset or 0) * 60
  return { epoch = epoch, fraction = fraction, offset = offset }
end

-- Whole UTC seconds → "YYYY-MM-DD HH:MM:SS", the form Odoo stores and takes for datetime fields (always UTC).
function D.odoo(epoch)
  local days, second = epoch // 86400, epoch % 86400
  local y, m, d = civil_from_days(days)
  return ("%04d-%02d-%02d %02d:%02d:%02d"):format(y, m, d, second // 3600, second % 3600 // 60, second % 60)
end

return D
