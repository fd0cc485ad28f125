-- expect: cpu
-- why: each json.decode of a 6 MiB JSON string is under the 8 MiB limit; repeating it must hit the cpu budget promptly (JSON work must be charged, or ~125 decodes, i.e. seconds, run between hook checks)
-- message: budget

local json = require("json")
local half = ("a"):rep(3 * 1024 * 1024)   -- string.rep results are capped at 4 MiB; '..' is not
local doc = '"' .. half .. half .. '"'
while true do
  local s = json.decode(doc)
end
