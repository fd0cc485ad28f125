-- The words patients read. A text message can be seen by anyone holding the phone, so it names the clinic and the
-- time and nothing else: no patient name, no service, no provider or specialty, nothing clinical. The only inputs are
-- the site's entry of the value map and the start time; keep it that way.
--
-- Texts stay in plain ASCII (GSM-7): one character outside it (an en dash, a curly quote) switches the whole message to
-- UCS-2, where a segment holds 70 characters instead of 160 and the clinic pays for two or three.
local clock = require("lib.clock")

local M = {}

M.KINDS = { confirmation = true, changed = true, cancelled = true, reminder = true }

-- "+15555550100" → "(555) 555-0100"; other countries as given.
function M.phone_text(e164)
  local area, exchange, line = e164:match("^%+1(%d%d%d)(%d%d%d)(%d%d%d%d)$")
  if area then return ("(%s) %s-%s"):format(area, exchange, line) end
  return e164
end

local TEMPLATES = {
  confirmation = "%s: your appointment is booked for %s. Reply C to confirm, STOP to opt out. Questions: %s",
  changed = "%s: your appointment has moved to %s. Reply C to confirm, STOP to opt out. Questions: %s",
  cancelled = "%s: your appointment on %s is cancelled. To rebook call %s. Reply STOP to opt out.",
  reminder = "%s: reminder of your appointment on %s. Reply C to confirm, STOP to opt out. Questions: %s",
}

-- The message for a kind, the site ({name, phone, time_zone}) and the start instant (epoch seconds).
function M.body(kind, site, start)
  local template = TEMPLATES[kind]
  if not template then error(("message kind %q is not one of confirmation, changed, cancelled, reminder"):format(tostring(kind)), 0) end
  local when = assert(clock.wall_text(start, site.time_zone))
  return template:format(site.name, when, M.phone_text(site.phone))
end

return M
