-- Dates and times for patient messages, without the host's time zone: ISO 8601 → epoch seconds, and an epoch shown as
-- the clinic's wall-clock time ("Mon Nov 23 at 9:15 AM"). The sandbox has no tz database, so the zones clinics use
-- are kept here with their rule (the US rule since 2007: daylight time from the second Sunday of March 02:00 local
-- standard time to the first Sunday of November 02:00 local daylight time). A zone not listed is an error, never a
-- silent UTC.
local M = {}

-- IANA name → standard offset from UTC in minutes and the daylight rule (nil: no daylight time).
M.ZONES = {
  ["America/New_York"] = { offset = -300, dst = "us" },
  ["America/Chicago"] = { offset = -360, dst = "us" },
  ["America/Denver"] = { offset = -420, dst = "us" },
  ["America/Phoenix"] = { offset = -420 },
  ["America/Los_Angeles"] = { offset = -480, dst = "us" },
  ["America/Anchorage"] = { offset = -540, dst = "us" },
  ["Pacific/Honolulu"] = { offset = -600 },
  ["UTC"] = { offset = 0 },
}

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
function M.days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m > 2 and m - 3 or m + 9) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

function M.civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return yoe + era * 400 + (m <= 2 and 1 or 0), m, d
end

-- 0 = Sunday.
local function weekday(days) return (days + 4) % 7 end

local function last_day(y, m)
  if m == 2 then return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28 end
  return ({ 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 })[m]
end

-- Parses YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM|±HHMM]. Returns epoch seconds (integer) of the instant — or, without a
-- zone, of the wall time read as UTC — and the offset in minutes (nil when the text has no zone).
function M.parse(text)
  if type(text) ~= "string" then return nil, "expected an ISO 8601 date-time string" end
  local y, mo, d, h, mi, rest = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d)(.*)$")
  if not y then return nil, ("%q is not an ISO 8601 date-time (YYYY-MM-DDTHH:MM…)"):format(text) end
  y, mo, d, h, mi = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi)
  local s = 0
  local secs, after = rest:match("^:(%d%d)(.*)$")
  if secs then s, rest = tonumber(secs), after end
  rest = rest:gsub("^%.%d+", "")
  if mo < 1 or mo > 12 or d < 1 or d > last_day(y, mo) or h > 23 or mi > 59 or s > 60 then
    return nil, ("%q is not a valid calendar date and time"):format(text)
  end
  local offset
  if rest == "Z" then
    offset = 0
  elseif rest ~= "" then
    local sign, zh, zm = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil, ("%q has an unreadable UTC offset"):format(text) end
    offset = (tonumber(zh) * 60 + tonumber(zm)) * (sign == "-" and -1 or 1)
  end
  local wall = M.days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
  return wall - (offset or 0) * 60, offset
end

-- The zone's offset (minutes) at a UTC instant.
function M.offset_at(zone, utc)
  local rule = M.ZONES[zone]
  if not rule then return nil, ("time zone %q is not one this plugin knows (lib/clock.lua ZONES)"):format(tostring(zone)) end
  if rule.dst ~= "us" then return rule.offset end
  local y = M.civil_from_days(utc // 86400)
  local march1, nov1 = M.days_from_civil(y, 3, 1), M.days_from_civil(y, 11, 1)
  local second_sunday_march = march1 + (7 - weekday(march1)) % 7 + 7
  local first_sunday_nov = nov1 + (7 - weekday(nov1)) % 7
  local starts = second_sunday_march * 86400 + 2 * 3600 - rule.offset * 60
  local ends = first_sunday_nov * 86400 + 2 * 3600 - (rule.offset + 60) * 60
  if utc >= starts and utc < ends then return rule.offset + 60 end
  return rule.offset
end

-- An ISO text as a UTC instant; a text without a zone is the clinic's wall time (the scheduler's local time).
function M.instant(text, zone)
  local value, offset = M.parse(text)
  if not value then return nil, offset end
  if offset ~= nil or zone == nil then return value end
  local guess, err = M.offset_at(zone, value)
  if not guess then return nil, err end
  return value - (M.offset_at(zone, value - guess * 60) or guess) * 60
end

local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

-- "Mon Nov 23 at 9:15 AM" in the zone.
function M.wall_text(utc, zone)
  local offset, err = M.offset_at(zone, utc)
  if not offset then return nil, err end
  local wall = utc + offset * 60
  local days = wall // 86400
  local _, m, d = M.civil_from_days(days)
  local seconds = wall % 86400
  local h, mi = seconds // 3600, (seconds % 3600) // 60
  local h12 = h % 12 == 0 and 12 or h % 12
  return ("%s %s %d at %d:%02d %s"):format(DAYS[weekday(days) + 1], MONTHS[m], d, h12, mi, h < 12 and "AM" or "PM")
end

-- Epoch seconds as ISO 8601 UTC ("2026-11-22T14:00:00Z").
function M.iso(utc)
  utc = math.floor(utc)
  local y, m, d = M.civil_from_days(utc // 86400)
  local s = utc % 86400
  return ("%04d-%02d-%02dT%02d:%02d:%02dZ"):format(y, m, d, s // 3600, (s % 3600) // 60, s % 60)
end

return M
