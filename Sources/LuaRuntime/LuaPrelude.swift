/// The host's own Lua code that assembles a plugin's environment from the pieces `clua_setup` prepares.
///
/// It runs once per state, before any plugin code, with the state's original libraries in hand; plugin code can never
/// reach `raw`, `hostfns` or `fault` afterwards (they live only in the upvalues of the functions defined here).
/// The allowlist is data (the tables below), never "_G minus a denylist".
enum LuaPrelude {
    static let source = #"""
local env, raw, hostfns, TOKEN, faults, json, host_threads = ...
local fault, pending, is_pending, check_source = faults.raise, faults.pending, faults.is_pending, faults.check_source
local base = raw.base
local rawget, rawset, type, tostring, select, error = base.rawget, base.rawset, base.type, base.tostring, base.select, base.error
local raw_setmetatable, raw_pcall, raw_xpcall, raw_load = base.setmetatable, base.pcall, base.xpcall, base.load
local co_create, co_resume, co_yield, co_status, co_close = raw.coroutine.create, raw.coroutine.resume, raw.coroutine.yield, raw.coroutine.status, raw.coroutine.close
local co_running = raw.coroutine.running
local concat, format = raw.table.concat, raw.string.format
local find, lower, math_floor = raw.string.find, raw.string.lower, raw.math.floor
local pairs, ipairs, tonumber = base.pairs, base.ipairs, base.tonumber

-- Names a plugin author may expect from standard Lua but that the sandbox withholds: reading one is a permission
-- error (an attempt), reading any other unknown name is a plain runtime error (a typo).
local withheld = {
  _G = { io = true, debug = true, package = true, dofile = true, loadfile = true, loadstring = true,
         getfenv = true, setfenv = true, module = true, newproxy = true, jit = true, ffi = true, bit32 = true,
         unpack = false, gcinfo = true, collectgarbage = false, arg = true },
  string = { dump = true, pack = true, unpack = true, packsize = true },
  os = { execute = true, exit = true, getenv = true, remove = true, rename = true, tmpname = true,
         setlocale = true, difftime = false },
  table = {}, math = {}, utf8 = {}, coroutine = {},
}

local function missing(libname)
  local names = withheld[libname]
  return function(_, key)
    if names[key] then
      local qualified = libname == "_G" and tostring(key) or (libname .. "." .. tostring(key))
      fault("permission", format("'%s' is not available in the sandbox", qualified), 2)
    end
    if libname == "_G" then error(format("undefined global '%s'", tostring(key)), 2) end
    return nil
  end
end

-- A read-only view of a library table: reads hit the real table (one extra lookup), writes are refused.
-- pairs() over a proxy: an iterator closure over the real table, which is never handed out (`next, real` would be).
local function iterate(real)
  local next, key = base.next, nil
  return function()
    local value
    key, value = next(real, key)
    return key, value
  end
end

-- Tables plugin code may not write even with rawset: the library proxies and the global table.
local protected_tables = raw_setmetatable({}, { __mode = "k" })

local function readonly(libname, real)
  raw_setmetatable(real, { __index = missing(libname) })
  local proxy = raw_setmetatable({}, {
    __index = real,
    __newindex = function(_, key)
      fault("permission", format("the '%s' library is read-only (assignment to '%s')", libname, tostring(key)), 2)
    end,
    __pairs = function() return iterate(real) end,
    __len = function() return 0 end,
    __metatable = false,
  })
  protected_tables[proxy] = libname
  return proxy
end

-- Faults are sticky. Whatever caught an error (pcall, xpcall, a coroutine resume), a recorded fault is raised again
-- at once. Lua's own "not enough memory" (an allocation refused without retry) and stack overflows are made sticky
-- here too: a plugin must not recover from exhausting what the sandbox gives it.
local MEMERR = "not enough memory"
local function checked(ok, ...)
  if not ok then
    pending()
    local err = ...
    if err == MEMERR then fault("memory", "memory limit exceeded", 2) end
    if type(err) == "string" and (err:find("stack overflow", 1, true) or err == "error in error handling") then
      fault("stack", err, 2)
    end
  end
  return ok, ...
end

local function sandbox_pcall(f, ...) return checked(raw_pcall(f, ...)) end
-- A message handler may be reached from inside the hook, where Lua has hooks switched off: when a fault is what is
-- being handled, the plugin's handler is skipped.
local function sandbox_xpcall(f, handler, ...)
  local function guarded(message)
    if is_pending() then return message end
    -- Exhaustion must reach `checked` as Lua reported it, not as the plugin's handler rewrote it.
    if message == MEMERR or type(message) == "string" and message:find("stack overflow", 1, true) then
      return message
    end
    return handler(message)
  end
  return checked(raw_xpcall(f, guarded, ...))
end

-- Host yields pass through plugin coroutines: when a coroutine the plugin resumed yields the host token, we yield it
-- further up (to the host, or to the next enclosing wrapper) and resume the coroutine with what comes back.
local function relay(co, ok, ...)
  pending() -- the coroutine may have been stopped by a fault (the hook yields out of it)
  if ok and (...) == TOKEN and co_status(co) == "suspended" then
    return relay(co, co_resume(co, co_yield(TOKEN)))
  end
  return checked(ok, ...)
end

-- Every coroutine starts with a fresh hook countdown, so a swarm of short coroutines could run without the hook ever
-- firing: creating one is charged to the budget (see clua_guards.c: coroutine.create costs CLUA_COROUTINE_UNITS).
local function guard_thread(co, what)
  if host_threads[co] then
    fault("permission", format("coroutine.%s: this coroutine belongs to the host", what), 3)
  end
end

local coroutine_lib = {
  create = co_create, running = raw.coroutine.running, status = co_status,
  isyieldable = raw.coroutine.isyieldable, yield = co_yield,
}
function coroutine_lib.resume(co, ...)
  guard_thread(co, "resume")
  return relay(co, co_resume(co, ...))
end
-- Lua 5.4.4 gives the __close handlers run by coroutine.close a fresh C-call allowance (lua.org bug "C-stack overflow
-- with deep nesting of coroutine.close", fixed in 5.4.6): closes nested inside such handlers could exhaust the real C
-- stack. Nesting is bounded here.
local MAX_CLOSE_NESTING, close_nesting = 4, 0
local function after_close(ok, ...)
  close_nesting = close_nesting - 1
  if not ok then
    pending()
    error((...), 0) -- coroutine.close itself refused (e.g. "cannot close a running coroutine")
  end
  return checked(...)
end
function coroutine_lib.close(co)
  guard_thread(co, "close")
  pending() -- never run the __close handlers of a coroutine a fault stopped
  if close_nesting >= MAX_CLOSE_NESTING then
    fault("stack", format("coroutine.close nested more than %d deep (inside __close handlers)", MAX_CLOSE_NESTING), 2)
  end
  close_nesting = close_nesting + 1
  return after_close(raw_pcall(co_close, co))
end
local function unwrap(co, ok, ...)
  if ok then return ... end
  local err = ...
  pending()
  coroutine_lib.close(co)
  error(err, 0)
end
function coroutine_lib.wrap(f)
  local co = co_create(f)
  return function(...) return unwrap(co, relay(co, co_resume(co, ...))) end
end

local function sandbox_load(...)
  local chunk, name, mode, chunk_env = ...
  if type(chunk) == "string" and chunk:byte(1) == 27 then
    fault("permission", "load: binary chunks are not allowed", 2)
  end
  if mode ~= nil and mode ~= "t" then
    fault("permission", format("load: mode must be \"t\" (text), got %s", tostring(mode)), 2)
  end
  if select("#", ...) < 4 then chunk_env = env end
  -- A plugin names its chunks, but may not make them pass for host code ("conflux/…") in error reports.
  if type(name) == "string" and name:find("^[=@]?conflux/") then name = "=load:" .. name:gsub("^[=@]", "") end
  if type(chunk) == "function" then
    -- Collect the pieces first so the whole text can be checked like any other source.
    local pieces, n = {}, 0
    while true do
      local piece = chunk()
      if piece == nil or piece == "" then break end
      if type(piece) ~= "string" then error("load: reader function must return a string", 2) end
      n = n + 1
      pieces[n] = piece
    end
    chunk = concat(pieces)
  end
  if type(chunk) == "string" then
    if chunk:byte(1) == 27 then fault("permission", "load: binary chunks are not allowed", 2) end
    check_source(chunk)
  end
  local fn, err = raw_load(chunk, name, "t", chunk_env)
  if fn == nil and type(err) == "string" and err:find("attempt to load a binary chunk", 1, true) then
    fault("permission", "load: binary chunks are not allowed", 2)
  end
  return fn, err
end

local raw_rawset = base.rawset
local function sandbox_rawset(t, key, value)
  if protected_tables[t] then
    fault("permission", format("rawset: '%s' is read-only", protected_tables[t]), 2)
  end
  return raw_rawset(t, key, value)
end

-- Metatables. Lua 5.4.4's `..` keeps a pointer into the stack across a __concat metamethod (luaV_concat; fixed in
-- 5.4.5): when the metamethod grows the stack, or a collection shrinks it meanwhile, the VM goes on with a dangling
-- pointer and corrupts the host's memory. So no value a plugin can reach has a __concat metamethod: setmetatable
-- refuses one, and installs a copy of the metatable's metamethods (the keys starting with "__"), made the first time
-- that metatable is given and never reachable by the plugin, so one cannot be added afterwards either. getmetatable
-- still returns the plugin's own table. (Metamethods added to a metatable after its first setmetatable are not seen;
-- methods reached through __index are, since __index keeps pointing at the plugin's table.)
local raw_getmetatable, raw_next = base.getmetatable, base.next
local installed_of = raw_setmetatable({}, { __mode = "k" }) -- plugin metatable -> the copy installed
local original_of = raw_setmetatable({}, { __mode = "k" })  -- installed copy -> plugin metatable
local function installed(mt)
  local copy = installed_of[mt]
  if copy ~= nil then return copy end
  if rawget(mt, "__gc") ~= nil then
    fault("permission", "setmetatable: __gc metamethods are not allowed (finalizers cannot be time-limited)", 3)
  end
  if rawget(mt, "__concat") ~= nil then
    fault("permission", "setmetatable: __concat metamethods are not allowed (Lua 5.4.4 mishandles its stack during " ..
                        "them; concatenate with tostring, table.concat or string.format)", 3)
  end
  -- Lua 5.4.4 leaves the to-be-closed value of a generic `for` open when the loop is left by `break` (fixed in 5.4.6,
  -- lparser.c leaveblock), and lua_settop may then use a stack pointer that closing the value invalidated: a crash
  -- of the host. A to-be-closed variable needs a value with __close, and no host value has one, so refusing __close
  -- keeps plugins away from both bugs (and from the coroutine.close and hook-during-__close paths).
  if rawget(mt, "__close") ~= nil then
    fault("permission", "setmetatable: __close metamethods are not allowed (Lua 5.4.4 does not close them reliably; " ..
                        "release resources explicitly, or with pcall)", 3)
  end
  -- A __call that is not a function makes luaD_precall walk the chain, shifting arguments each step, inside one VM
  -- instruction the CPU hook cannot interrupt: t() with mt.__call = t spins until the watchdog abandons the state.
  local call = rawget(mt, "__call")
  if call ~= nil and type(call) ~= "function" then
    fault("permission", format("setmetatable: __call must be a function, got %s", type(call)), 3)
  end
  copy = {}
  for key, value in raw_next, mt do
    if type(key) == "string" and find(key, "^__") then raw_rawset(copy, key, value) end
  end
  installed_of[mt], original_of[copy] = copy, mt
  return copy
end

local function sandbox_setmetatable(t, mt)
  if type(mt) == "table" then mt = installed(mt) end
  return raw_setmetatable(t, mt)
end

local function sandbox_getmetatable(value)
  local mt = raw_getmetatable(value)
  return original_of[mt] or mt
end

local raw_collect = base.collectgarbage
local function sandbox_collectgarbage(option, ...)
  if option == "count" then return raw_collect("count") end
  fault("permission", format("collectgarbage: only \"count\" is allowed, got %s", tostring(option)), 2)
end

-- Host modules -------------------------------------------------------------------------------------------------------
local log_write = hostfns["log.write"]
local function log_at(level)
  return function(message, fields)
    if fields ~= nil then fields = json.encode(fields) end
    log_write(level, tostring(message), fields)
  end
end
local log = { debug = log_at("debug"), info = log_at("info"), warn = log_at("warning"), error = log_at("error") }

local function print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  log_write("info", concat(parts, "\t"), nil)
end

local time = {
  sleep = hostfns["time.sleep"], now = hostfns["time.now"], now_ms = hostfns["time.now_ms"],
  monotonic_ms = hostfns["time.monotonic_ms"], iso8601 = hostfns["time.iso8601"],
  parse_iso8601 = hostfns["time.parse_iso8601"],
}
local crypto = {
  sha256 = hostfns["crypto.sha256"], hmac_sha256 = hostfns["crypto.hmac_sha256"],
  base64_encode = hostfns["crypto.base64_encode"], base64_decode = hostfns["crypto.base64_decode"],
  hex_encode = hostfns["crypto.hex_encode"], hex_decode = hostfns["crypto.hex_decode"],
  uuid = hostfns["crypto.uuid"], constant_time_equal = hostfns["crypto.constant_time_equal"],
}

local fixtures = { read = hostfns["fixtures.read"] }

-- Error objects a plugin raises to tell the pipeline what to do: error(conflux.retryable("partner busy")).
local conflux = {
  retryable = function(message) return { message = tostring(message), retryable = true } end,
  permanent = function(message) return { message = tostring(message), retryable = false } end,
}

-- http.request{method=, url=, headers=, body=|json=, timeout_ms=, max_redirects=, raise=} → {status=, headers=,
-- body=, json=}. The coroutine waits while the host performs it. No response (timeout, refused connection, open
-- circuit) raises a classified error {message=, retryable=, retry_after_ms=}; so do 429 and 5xx answers (retryable,
-- honouring Retry-After) unless raise = false. Other statuses are returned for the plugin to judge.
-- Secret handles: secret("odoo/api_key") is an opaque value holding only the name; secret.join("Bearer ", h, …) builds
-- a longer handle from strings, numbers and handles (`..` cannot: see the metatables above); tostring shows names,
-- never values. Only http.request turns one into something the host resolves — for a secret the plugin's catalog
-- entry declares, sent to a host its egress list allows. The parts live in a weak table private to this prelude, so
-- plugin code cannot forge or read a handle.
local secret_parts = raw_setmetatable({}, { __mode = "k" })
-- __name makes `"Bearer " .. h` fail as "attempt to concatenate a secret value", which LuaError explains.
local secret_mt = { __name = "secret", __metatable = "secret" }
local function make_secret(parts) local h = {}; secret_parts[h] = parts; return raw_setmetatable(h, secret_mt) end
secret_mt.__tostring = function(h)
  local out = {}
  for i, part in ipairs(secret_parts[h]) do
    out[i] = type(part) == "table" and (part.basic and ("secret.basic(" .. part.basic .. ", secret(" .. part[1] .. "))")
                                        or part.encoding and ("secret." .. part.encoding .. "(secret(" .. part[1] .. "))")
                                        or ("secret(" .. part[1] .. ")")) or part
  end
  return concat(out)
end
secret_mt.__index = function() error("a secret handle has no fields (it holds only a name)", 2) end
secret_mt.__newindex = function() error("a secret handle cannot be changed", 2) end
secret_mt.__len = function() error("a secret handle has no length (its value never enters Lua)", 2) end
local function secret_join(...)
  local parts = {}
  for i = 1, select("#", ...) do
    local v = (select(i, ...))
    local p = secret_parts[v]
    if p then for j = 1, #p do parts[#parts + 1] = p[j] end
    elseif type(v) == "string" or type(v) == "number" then parts[#parts + 1] = tostring(v)
    else error(format("secret.join: argument %d is a %s (strings, numbers and secret handles only)", i, type(v)), 2) end
  end
  return make_secret(parts)
end
-- Whether h is exactly one plain secret(name): what secret.basic, secret.json and secret.form take.
local function single_secret(h)
  local p = secret_parts[h]
  return p ~= nil and #p == 1 and type(p[1]) == "table" and not p[1].basic and not p[1].encoding
end
-- secret.basic(user, h): the value HTTP Basic authentication sends, base64("user:" .. value of h), made by the host at
-- send time (the value never enters Lua, so Lua cannot encode it). h must be a single secret, user a plain token.
local function secret_basic(user, h)
  if type(user) ~= "string" or not find(user, "^[%w_.%-]+$") or #user > 128 then
    error("secret.basic: argument 1 must be a user name of letters, digits, '_', '.' or '-'", 2)
  end
  if not single_secret(h) then error("secret.basic: argument 2 must be one secret handle, secret(name)", 2) end
  return make_secret({ { secret_parts[h][1][1], basic = user } })
end
-- secret.json(h) and secret.form(h): the value of one secret, escaped by the host at send time for where the plugin
-- puts it: inside a JSON string (RFC 8259 escapes; the value must be UTF-8) or in a form body or query
-- (percent-encoded, RFC 3986 unreserved bytes kept). Spliced raw, a password with a quote or a backslash would break
-- the JSON the plugin built, and Lua cannot escape a value it never sees.
local function secret_encoded(encoding)
  return function(h)
    if not single_secret(h) then error(format("secret.%s: argument 1 must be one secret handle, secret(name)", encoding), 2) end
    return make_secret({ { secret_parts[h][1][1], encoding = encoding } })
  end
end
local secret_json, secret_form = secret_encoded("json"), secret_encoded("form")
local secret = raw_setmetatable({}, { -- empty, so that every read and write goes through the metatable
  __call = function(_, name)
    if type(name) ~= "string" or not find(name, "^[a-z0-9][a-z0-9_.%-/]*$") or #name > 128 then
      error("secret: expected a name like odoo/api_key", 2)
    end
    return make_secret({ { name } })
  end,
  __index = function(_, key)
    if key == "join" then return secret_join end
    if key == "basic" then return secret_basic end
    if key == "json" then return secret_json end
    if key == "form" then return secret_form end
    error(format("secret.%s does not exist (secret(name), secret.join(...), secret.basic(user, handle), secret.json(handle) and secret.form(handle))", tostring(key)), 2)
  end,
  __newindex = function(_, key) fault("permission", format("the 'secret' function is read-only (assignment to '%s')", tostring(key)), 2) end,
  __metatable = false,
})
protected_tables[secret] = "secret"
-- A handle as the host reads it: literal text with each secret name between \1 bytes (plain strings may not contain
-- \1, so only a handle can produce a reference).
local function secret_wire(h, what)
  local out = {}
  for i, part in ipairs(secret_parts[h]) do
    if type(part) == "table" then
      out[i] = "\1" .. part[1] .. (part.basic and ("#basic:" .. part.basic) or part.encoding and ("#" .. part.encoding) or "") .. "\1"
    else
      local refused = what == "body" and "\1" or "[%z\1\r\n]"
      if find(part, refused) then error(format("http.request: %s contains a control byte it may not carry", what), 4) end
      out[i] = part
    end
  end
  return concat(out)
end

local http_send = hostfns["http.send"]
local function header_text(value, what)
  if type(value) == "number" then value = tostring(value) end
  if secret_parts[value] then return secret_wire(value, what) end
  if type(value) ~= "string" then error(format("http.request: %s must be a string", what), 3) end
  if find(value, "[%z\1\r\n]") then error(format("http.request: %s contains CR, LF or NUL", what), 3) end
  return value
end
local function http_request(req)
  if type(req) ~= "table" then error("http.request: expected a table {method=, url=, headers=, body=|json=, timeout_ms=}", 2) end
  local method = req.method or "GET"
  if type(method) ~= "string" or not find(method, "^[A-Z]+$") then error("http.request: method must be an upper-case token like POST", 2) end
  if type(req.url) ~= "string" then error("http.request: url must be a string", 2) end
  local parts, n = {}, 0
  local body, body_secrets = req.body, false
  if req.json ~= nil then
    if body ~= nil then error("http.request: give body or json, not both", 2) end
    body = json.encode(req.json)
  end
  if secret_parts[body] then body, body_secrets = secret_wire(body, "body"), true end
  if body ~= nil and type(body) ~= "string" then error("http.request: body must be a string (or use json=)", 2) end
  local has_type = false
  if req.headers ~= nil then
    if type(req.headers) ~= "table" then error("http.request: headers must be a table of name = value", 2) end
    for name, value in pairs(req.headers) do
      name = header_text(name, "a header name")
      if not find(name, "^[%w!#$%%&'*+.^_`|~-]+$") then error(format("http.request: '%s' is not a valid header name", name), 2) end
      if lower(name) == "content-type" then has_type = true end
      parts[n + 1], parts[n + 2], n = name, header_text(value, "header '" .. name .. "'"), n + 2
    end
  end
  if req.json ~= nil and not has_type then parts[n + 1], parts[n + 2], n = "Content-Type", "application/json", n + 2 end
  local status, headers, rbody, retry_after, deferred = http_send(method, req.url, concat(parts, "\0"), body, req.timeout_ms,
                                                         req.max_redirects or 0, body_secrets)
  if status == nil then
    error({ message = "http.request: " .. headers, retryable = rbody, retry_after_ms = retry_after,
            deferred = deferred or nil }, 2)
  end
  local response = { status = status, headers = headers, body = rbody }
  if (status == 429 or status >= 500) and req.raise ~= false then
    local wait = tonumber(headers["retry-after"] or "")
    local _, _, origin = find(req.url, "^(%a+://[^/?#]*)")
    error({ message = format("http.request: %s answered %d", origin or "the partner", status),
            retryable = true, retry_after_ms = wait and math_floor(wait * 1000) or nil, status = status }, 2)
  end
  local content_type = headers["content-type"]
  if content_type and (find(content_type, "^application/json") or find(content_type, "^application/[%w.-]+%+json")) and #rbody > 0 then
    local ok, decoded = raw_pcall(json.decode, rbody)
    if ok then response.json = decoded end
  end
  return response
end
local http = { request = http_request }

-- What the plugin recorded about its deliveries, kept by the host (see PluginLedger.swift): JSON values by key.
local ledger_put, ledger_get, ledger_scan = hostfns["ledger.put"], hostfns["ledger.get"], hostfns["ledger.scan"]
local ledger = {
  put = function(key, value) return ledger_put(key, json.encode(value)) end,
  get = function(key) return ledger_get(key) end,
  scan = function(prefix, after, limit) return ledger_scan(prefix, after, limit) end,
}

-- hl7: parse on the host; get/value/segments read the parsed table. A path is SEG[(n)][-field[(rep)][.component[.sub]]]
-- ("PID-5.1", "PID-3(2).1", "AIS(2)-3"; '-' and '.' both separate the levels). A missing segment gives nil, a missing
-- field or component "" (HL7 does not tell an empty field from an absent one).
local function hl7_value(segment, field, component, subcomponent, repetition)
  local f = segment.fields[field]
  local r = f and f[repetition or 1]
  local c = r and r[component or 1]
  return c and c[subcomponent or 1] or ""
end
local function hl7_path(path)
  if type(path) ~= "string" then error("hl7.get: the path must be a string like \"PID-5.1\"", 3) end
  local id, rest = path:match("^(%u[%u%d][%u%d])(.*)$")
  local occurrence, field, repetition, component, subcomponent = 1, nil, 1, 1, 1
  if id then
    local n, more = rest:match("^%((%d+)%)(.*)$")
    if n then occurrence, rest = tonumber(n), more end
    if rest ~= "" then
      n, more = rest:match("^%-(%d+)(.*)$")
      if n then
        field, rest = tonumber(n), more
        n, more = rest:match("^%((%d+)%)(.*)$")
        if n then repetition, rest = tonumber(n), more end
        n, more = rest:match("^[%-%.](%d+)(.*)$")
        if n then
          component, rest = tonumber(n), more
          n, more = rest:match("^[%-%.](%d+)(.*)$")
          if n then subcomponent, rest = tonumber(n), more end
        end
      end
    end
  end
  if not id or rest ~= "" then
    error(format("hl7.get: '%s' is not a path like PID-5.1, PID-3(2).1 or AIS(2)-3", path), 3)
  end
  return id, occurrence, field, repetition, component, subcomponent
end
local hl7 = {
  parse = hostfns["hl7.parse"],
  value = function(segment, field, component, subcomponent, repetition)
    if type(segment) ~= "table" or type(segment.fields) ~= "table" then error("hl7.value: expected a segment from hl7.parse", 2) end
    return hl7_value(segment, field, component, subcomponent, repetition)
  end,
  segments = function(message, id)
    if type(message) ~= "table" or type(message.segments) ~= "table" then error("hl7.segments: expected a message from hl7.parse", 2) end
    local out = {}
    for _, segment in ipairs(message.segments) do if segment.id == id then out[#out + 1] = segment end end
    return out
  end,
  get = function(message, path)
    if type(message) ~= "table" or type(message.segments) ~= "table" then error("hl7.get: expected a message from hl7.parse", 2) end
    local id, occurrence, field, repetition, component, subcomponent = hl7_path(path)
    local seen = 0
    for _, segment in ipairs(message.segments) do
      if segment.id == id then
        seen = seen + 1
        if seen == occurrence then
          if field == nil then return segment end
          return hl7_value(segment, field, component, subcomponent, repetition)
        end
      end
    end
    return nil
  end,
}

local host_modules = {
  http = readonly("http", http),
  json = readonly("json", json), log = readonly("log", log), time = readonly("time", time),
  crypto = readonly("crypto", crypto), fixtures = readonly("fixtures", fixtures), conflux = readonly("conflux", conflux),
  x12 = readonly("x12", { parse = hostfns["x12.parse"] }),
  hl7 = readonly("hl7", hl7),
  ledger = readonly("ledger", ledger),
}
local forbidden_modules = { io = true, os = true, debug = true, package = true, ffi = true, jit = true,
                            socket = true, lfs = true, posix = true, ["string.buffer"] = true }
local module_source = hostfns["module.source"]
local loaded, loading = {}, {}

local function require(name)
  if type(name) ~= "string" then error("require: module name must be a string", 2) end
  local m = host_modules[name] or loaded[name]
  if m ~= nil then return m end
  if forbidden_modules[name] then
    fault("permission", format("require: module '%s' is not available in the sandbox", name), 2)
  end
  if not name:find("^[%w_]+$") and not name:find("^[%w_][%w_%.]*[%w_]$") or name:find("..", 1, true) then
    error(format("require: invalid module name '%s' (letters, digits, '_' and '.' only)", name), 2)
  end
  -- A module being loaded is marked with the coroutine loading it: the same coroutine asking again is a cycle;
  -- another invocation asking meanwhile simply loads it too.
  local me = co_running()
  if loading[name] == me then error(format("require: module '%s' requires itself (a cycle)", name), 2) end
  local source, path = module_source(name)
  if source == nil then
    error(format("require: module '%s' not found (no host module of that name and %s)", name, path), 2)
  end
  check_source(source)
  local chunk, err = raw_load(source, "@" .. path, "t", env)
  if chunk == nil then error(err, 0) end
  loading[name] = me
  local ok, result = raw_pcall(chunk, name)
  if loading[name] == me then loading[name] = nil end
  if not ok then
    pending()
    error(result, 0)
  end
  if result == nil then result = true end
  loaded[name] = result
  return result
end

-- The plugin environment ---------------------------------------------------------------------------------------------
-- `env` (the state's global table) stays empty: reads go through to `genv`, writes are refused, so plugin code can
-- neither create globals nor replace the ones the host provides (print, pcall, string, …).
local genv = {}
for _, name in base.ipairs({ "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen",
                            "select", "tonumber", "tostring", "type", "_VERSION" }) do
  rawset(genv, name, base[name])
end
rawset(genv, "rawset", sandbox_rawset)
rawset(genv, "pcall", sandbox_pcall)
rawset(genv, "xpcall", sandbox_xpcall)
rawset(genv, "load", sandbox_load)
rawset(genv, "setmetatable", sandbox_setmetatable)
rawset(genv, "getmetatable", sandbox_getmetatable)
rawset(genv, "collectgarbage", sandbox_collectgarbage)
rawset(genv, "require", require)
rawset(genv, "secret", secret)
rawset(genv, "print", print)
rawset(genv, "string", readonly("string", raw.string))
rawset(genv, "table", readonly("table", raw.table))
rawset(genv, "math", readonly("math", raw.math))
rawset(genv, "utf8", readonly("utf8", raw.utf8))
rawset(genv, "os", readonly("os", raw.os))
rawset(genv, "coroutine", readonly("coroutine", coroutine_lib))
rawset(genv, "_G", env)
raw_setmetatable(genv, { __index = missing("_G") })
protected_tables[env] = "_G"
raw_setmetatable(env, {
  __index = genv,
  __newindex = function(_, key)
    fault("permission", format("assignment to global '%s' (plugins may not create or change globals; use local)",
                               tostring(key)), 2)
  end,
  __pairs = function() return iterate(genv) end,
  __metatable = false,
})
"""#
}
