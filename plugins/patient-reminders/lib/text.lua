-- The words patients read. A text message can be seen by anyone holding the phone, and an e-mail by anyone reading
-- over a shoulder or sharing the mailbox, so both name the clinic and the time and nothing else: no patient name, no
-- service, no provider or specialty, nothing clinical. The only inputs are the site's entry of the value map, the start
-- time and the channel; keep it that way.
--
-- Texts stay in plain ASCII (GSM-7): one character outside it (an en dash, a curly quote) switches the whole message to
-- UCS-2, where a segment holds 70 characters instead of 160 and the clinic pays for two or three. The e-mail is the
-- same text, so the two channels never say different things; only the line about replying differs, since an e-mail
-- cannot be confirmed with C and its unsubscribe link is how most people opt out.
local clock = require("lib.clock")

local M = {}

M.KINDS = { confirmation = true, changed = true, cancelled = true, reminder = true }

-- "+15555550100" → "(555) 555-0100"; other countries as given.
function M.phone_text(e164)
  local area, exchange, line = e164:match("^%+1(%d%d%d)(%d%d%d)(%d%d%d%d)$")
  if area then return ("(%s) %s-%s"):format(area, exchange, line) end
  return e164
end

-- Each message: what happened, the SMS reply line (replaced by M.EMAIL_REPLY in an e-mail), and what follows it.
-- Arguments, in order: the clinic's name, the local time, the clinic's phone.
local TEMPLATES = {
  confirmation = { "%s: your appointment is booked for %s.", "Reply C to confirm, STOP to opt out.", "Questions: %s" },
  changed = { "%s: your appointment has moved to %s.", "Reply C to confirm, STOP to opt out.", "Questions: %s" },
  cancelled = { "%s: your appointment on %s is cancelled. To rebook call %s.", "Reply STOP to opt out." },
  reminder = { "%s: reminder of your appointment on %s.", "Reply C to confirm, STOP to opt out.", "Questions: %s" },
}

M.EMAIL_REPLY = "To stop these e-mails, reply STOP or use the unsubscribe link."

local SUBJECTS = {
  confirmation = "%s: your appointment",
  changed = "%s: your appointment",
  cancelled = "%s: your appointment cancelled",
  reminder = "%s: your appointment reminder",
}

local function template(kind)
  local parts = TEMPLATES[kind]
  if not parts then error(("message kind %q is not one of confirmation, changed, cancelled, reminder"):format(tostring(kind)), 0) end
  return parts
end

-- The message for a kind, the site ({name, phone, time_zone}), the start instant (epoch seconds) and the channel
-- ("sms", the default, or "email").
function M.body(kind, site, start, channel)
  local parts = template(kind)
  local reply
  if channel == nil or channel == "sms" then
    reply = parts[2]
  elseif channel == "email" then
    reply = M.EMAIL_REPLY
  else
    error(("channel %q is not sms or email"):format(tostring(channel)), 0)
  end
  local when = assert(clock.wall_text(start, site.time_zone))
  local text = table.concat({ parts[1], reply, parts[3] }, " ")
  return text:format(site.name, when, M.phone_text(site.phone))
end

-- An e-mail's subject: the clinic and what the message is about, no time (the body has it) and nothing clinical.
function M.subject(kind, site)
  template(kind)
  return SUBJECTS[kind]:format(site.name)
end

return M
