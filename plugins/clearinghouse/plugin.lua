-- clearinghouse: a connector plugin. Sends the 837P interchange claim-837p produced to the clearinghouse:
--
--   POST <ctx.config.url>/x12/837
--   Content-Type: application/edi-x12
--   Authorization: Bearer <secret ctx.config.api_key_secret>   (the host substitutes the value at send time)
--   Idempotency-Key: 837-<sha256 of the interchange>          (a resend of the same bytes is the same request)
--   body: the interchange
--
-- Answers:
--   200 {"accepted":true,"claim_ids":[…],"ack":"<999>"}  → { claim_id = …, accepted = true }
--   422 {"accepted":false,"errors":[…]}                 → a permanent error naming the claim and the errors
--   429 and 5xx                                          → http.request raises them as retryable (Retry-After kept)
--   401/403, other statuses, a 2xx that is not an acceptance of this claim → permanent errors
-- An operation with `skip` (claim-837p's self-pay) sends nothing and answers { skipped = <reason> }.
--
-- The interchange names the patient; a clearinghouse's error text may echo those names, so the subscriber's names,
-- member id, address and birth date are replaced by [masked] in every error this connector raises.
--
-- The request goes through M._send so tests can replace it (spec tests have no network).
local http = require("http")
local json = require("json")
local crypto = require("crypto")
local conflux = require("conflux")

local M = { kind = "connector" }

M.PATH = "/x12/837"
M.TIMEOUT_MS = 20000          -- below the profile's 30 s wall clock, so a slow answer fails as a retryable timeout
M.MAX_ERROR_TEXT = 1000

function M._send(request) return http.request(request) end

local function permanent(message) error(conflux.permanent(message), 0) end

local function describe_value(value)
  if value == nil then return "missing" end
  if value == json.null then return "null" end
  if type(value) == "string" then return ("the string %q"):format(#value > 40 and value:sub(1, 40) .. "…" or value) end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return ("a %s (%s)"):format(type(value), tostring(value))
end

local function is_object(value) return type(value) == "table" and value ~= json.null and not json.is_array(value) end

-- What the interchange says about the patient, to keep it out of error text: names and ids of the subscriber and
-- patient loops (NM1*IL, NM1*QC) and the N3/N4/DMG segments that follow them.
function M._personal_values(interchange)
  local element, component, terminator = interchange:sub(4, 4), interchange:sub(105, 105), interchange:sub(106, 106)
  local function split(text, separator)
    local parts = {}
    for part in (text .. separator):gmatch("(.-)" .. separator:gsub("%p", "%%%0")) do parts[#parts + 1] = part end
    return parts
  end
  local values, in_person = {}, false
  for _, text in ipairs(split(interchange, terminator)) do
    local fields = split((text:gsub("^[\r\n]+", "")), element)
    local id = fields[1]
    if id == "NM1" then
      in_person = fields[2] == "IL" or fields[2] == "QC"
      if in_person then
        -- NM103 last name, NM104 first, NM105 middle, NM109 member id
        for _, i in ipairs({ 4, 5, 6, 10 }) do if fields[i] and #fields[i] > 1 then values[#values + 1] = fields[i] end end
      end
    elseif in_person and (id == "N3" or id == "N4" or id == "DMG") then
      for i = 2, #fields do
        for _, part in ipairs(split(fields[i], component)) do
          if #part > 2 then values[#values + 1] = part end
        end
      end
    else
      in_person = false
    end
  end
  table.sort(values, function(a, b) return #a > #b end)  -- longest first, so "MARIA ELENA" goes before "MARIA"
  return values
end

-- Replaces every occurrence of the values (any letter case) by [masked].
function M._mask(text, values)
  for _, value in ipairs(values) do
    local lower_value, out, from = value:lower(), {}, 1
    while true do
      local s, e = text:lower():find(lower_value, from, true)
      if not s then break end
      out[#out + 1] = text:sub(from, s - 1)
      out[#out + 1] = "[masked]"
      from = e + 1
    end
    out[#out + 1] = text:sub(from)
    text = table.concat(out)
  end
  return text
end

local function error_list(errors)
  if type(errors) ~= "table" or errors == json.null then return nil end
  local parts = {}
  for i, item in ipairs(errors) do
    if type(item) == "string" then
      parts[i] = item
    elseif is_object(item) then
      local where = {}
      if item.segment ~= nil then where[#where + 1] = "segment " .. tostring(item.segment) end
      if item.element ~= nil then where[#where + 1] = "element " .. tostring(item.element) end
      local text = item.message ~= nil and tostring(item.message) or json.encode(item)
      if item.code ~= nil then text = tostring(item.code) .. ": " .. text end
      if #where > 0 then text = text .. " (" .. table.concat(where, ", ") .. ")" end
      parts[i] = text
    else
      parts[i] = tostring(item)
    end
  end
  return #parts > 0 and table.concat(parts, "; ") or nil
end

local function shorten(text)
  if #text > M.MAX_ERROR_TEXT then return text:sub(1, M.MAX_ERROR_TEXT) .. "…" end
  return text
end

local function config_of(ctx)
  local config = type(ctx) == "table" and ctx.config or nil
  if not is_object(config) then
    permanent("ctx.config: missing; the catalog entry's config: block must give url and api_key_secret")
  end
  local url = config.url
  if type(url) ~= "string" or not url:match("^https?://[^/?#]+") then
    permanent(("ctx.config.url: expected the clearinghouse origin like https://claims.example.org, got %s"):format(describe_value(url)))
  end
  local name = config.api_key_secret
  if type(name) ~= "string" or name == "" then
    permanent(("ctx.config.api_key_secret: expected the name of the API key secret, got %s"):format(describe_value(name)))
  end
  return (url:gsub("/+$", "")), name
end

function M.deliver(op, ctx)
  if not is_object(op) then permanent(("operation: expected an object, got %s"):format(describe_value(op))) end
  if op.skip ~= nil then
    if type(op.skip) ~= "string" or op.skip == "" then
      permanent(("$.skip: expected the reason nothing is sent, got %s"):format(describe_value(op.skip)))
    end
    return { skipped = op.skip }
  end
  local interchange = op.interchange
  if type(interchange) ~= "string" or #interchange < 106 or interchange:sub(1, 3) ~= "ISA" then
    permanent(("$.interchange: expected an X12 interchange starting with a 106-character ISA, got %s"):format(describe_value(interchange)))
  end
  local claim_id = op.claim_id
  if type(claim_id) ~= "string" or claim_id == "" then
    permanent(("$.claim_id: expected the claim's id, got %s"):format(describe_value(claim_id)))
  end
  local base, secret_name = config_of(ctx)

  local response = M._send({
    method = "POST",
    url = base .. M.PATH,
    headers = {
      ["Content-Type"] = "application/edi-x12",
      ["Authorization"] = secret.join("Bearer ", secret(secret_name)),
      ["Idempotency-Key"] = "837-" .. crypto.sha256(interchange),
    },
    body = interchange,
    timeout_ms = M.TIMEOUT_MS,
  })

  local status = response.status
  local body = response.json
  if body == nil and type(response.body) == "string" and #response.body > 0 then
    local ok, decoded = pcall(json.decode, response.body)
    if ok then body = decoded end
  end
  local personal = M._personal_values(interchange)
  local function raw_text() return M._mask(shorten(tostring(response.body or "")), personal) end

  if status >= 200 and status < 300 then
    if not is_object(body) then
      permanent(("clearinghouse answered %d for claim %s without a JSON object: %s"):format(status, claim_id, raw_text()))
    end
    if body.accepted ~= true then
      local errors = error_list(body.errors) or "no errors given"
      permanent(("clearinghouse rejected claim %s: %s"):format(claim_id, M._mask(shorten(errors), personal)))
    end
    if type(body.claim_ids) == "table" and body.claim_ids ~= json.null then
      local listed = false
      for _, id in ipairs(body.claim_ids) do listed = listed or id == claim_id end
      if not listed then
        local ids = {}
        for i, id in ipairs(body.claim_ids) do ids[i] = tostring(id) end
        permanent(("clearinghouse accepted the interchange but its claim_ids [%s] do not include claim %s"):format(
          table.concat(ids, ", "), claim_id))
      end
    end
    return { claim_id = claim_id, accepted = true }
  end
  if status == 422 then
    local errors = is_object(body) and error_list(body.errors) or raw_text()
    permanent(("clearinghouse rejected claim %s: %s"):format(claim_id, M._mask(shorten(errors), personal)))
  end
  if status == 401 or status == 403 then
    permanent(("clearinghouse refused the credentials (HTTP %d) for claim %s; check the secret %s"):format(status, claim_id, secret_name))
  end
  permanent(("clearinghouse answered HTTP %d for claim %s: %s"):format(status, claim_id, raw_text()))
end

return M
