/// The host's own Lua code that assembles a plugin's environment from the pieces `clua_setup` prepares.
///
/// It runs once per state, before any plugin code, with the state's original libraries in hand; plugin code can never
/// reach `raw`, `hostfns` or `fault` afterwards (they live only in the upvalues of the functions defined here).
/// The allowlist is data (the tables below), never "_G minus a denylist".
enum LuaPrelude {
    static let source = #"""
local env, raw, hostfns, TOKEN, fault, json, host_threads = ...
local base = raw.base
local rawget, rawset, type, tostring, select, error = base.rawget, base.rawset, base.type, base.tostring, base.select, base.error
local raw_setmetatable, raw_pcall, raw_xpcall, raw_load = base.setmetatable, base.pcall, base.xpcall, base.load
local co_create, co_resume, co_yield, co_status, co_close = raw.coroutine.create, raw.coroutine.resume, raw.coroutine.yield, raw.coroutine.status, raw.coroutine.close
local concat, format = raw.table.concat, raw.string.format

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
local function readonly(libname, real)
  raw_setmetatable(real, { __index = missing(libname) })
  return raw_setmetatable({}, {
    __index = real,
    __newindex = function(_, key)
      fault("permission", format("the '%s' library is read-only (assignment to '%s')", libname, tostring(key)), 2)
    end,
    __pairs = function() return base.next, real, nil end,
    __len = function() return 0 end,
    __metatable = false,
  })
end

-- Sticky memory faults: Lua reports an allocation refused without retry as the error "not enough memory", which a
-- pcall would otherwise swallow.
local MEMERR = "not enough memory"
local function checked(ok, ...)
  if not ok and (...) == MEMERR then fault("memory", "memory limit exceeded", 2) end
  return ok, ...
end

local function sandbox_pcall(f, ...) return checked(raw_pcall(f, ...)) end
local function sandbox_xpcall(f, handler, ...) return checked(raw_xpcall(f, handler, ...)) end

-- Host yields pass through plugin coroutines: when a coroutine the plugin resumed yields the host token, we yield it
-- further up (to the host, or to the next enclosing wrapper) and resume the coroutine with what comes back.
local function relay(co, ok, ...)
  if ok and (...) == TOKEN and co_status(co) == "suspended" then
    return relay(co, co_resume(co, co_yield(TOKEN)))
  end
  return checked(ok, ...)
end

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
function coroutine_lib.close(co)
  guard_thread(co, "close")
  return co_close(co)
end
local function unwrap(co, ok, ...)
  if ok then return ... end
  local err = ...
  co_close(co)
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
  local fn, err = raw_load(chunk, name, "t", chunk_env)
  if fn == nil and type(err) == "string" and err:find("attempt to load a binary chunk", 1, true) then
    fault("permission", "load: binary chunks are not allowed", 2)
  end
  return fn, err
end

local function sandbox_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    fault("permission", "setmetatable: __gc metamethods are not allowed (finalizers cannot be time-limited)", 2)
  end
  return raw_setmetatable(t, mt)
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

local host_modules = {
  json = readonly("json", json), log = readonly("log", log), time = readonly("time", time),
  crypto = readonly("crypto", crypto), fixtures = readonly("fixtures", fixtures),
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
  if loading[name] then error(format("require: module '%s' requires itself (a cycle)", name), 2) end
  local source, path = module_source(name)
  if source == nil then
    error(format("require: module '%s' not found (no host module of that name and %s)", name, path), 2)
  end
  local chunk, err = raw_load(source, "@" .. path, "t", env)
  if chunk == nil then error(err, 0) end
  loading[name] = true
  local ok, result = raw_pcall(chunk, name)
  loading[name] = nil
  if not ok then error(result, 0) end
  if result == nil then result = true end
  loaded[name] = result
  return result
end

-- The plugin environment ---------------------------------------------------------------------------------------------
for _, name in base.ipairs({ "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen", "rawset",
                            "select", "getmetatable", "tonumber", "tostring", "type", "_VERSION" }) do
  rawset(env, name, base[name])
end
rawset(env, "pcall", sandbox_pcall)
rawset(env, "xpcall", sandbox_xpcall)
rawset(env, "load", sandbox_load)
rawset(env, "setmetatable", sandbox_setmetatable)
rawset(env, "collectgarbage", sandbox_collectgarbage)
rawset(env, "require", require)
rawset(env, "print", print)
rawset(env, "string", readonly("string", raw.string))
rawset(env, "table", readonly("table", raw.table))
rawset(env, "math", readonly("math", raw.math))
rawset(env, "utf8", readonly("utf8", raw.utf8))
rawset(env, "os", readonly("os", raw.os))
rawset(env, "coroutine", readonly("coroutine", coroutine_lib))
rawset(env, "_G", env)
raw_setmetatable(env, {
  __index = missing("_G"),
  __newindex = function(_, key)
    fault("permission", format("assignment to global '%s' (plugins may not create or change globals; use local)",
                               tostring(key)), 2)
  end,
  __metatable = false,
})
"""#
}
