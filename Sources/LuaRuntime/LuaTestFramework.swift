/// The busted-style test framework plugins' tests run on (pure Lua, runs inside the sandbox). See README "Testing plugins".
///
/// Host contract: load `source` once per test state under `chunkName` (sandbox environment), call it with one
/// argument `host = { fixture = function(relative_path) -> string }`; it returns `F`:
/// - `F.globals`: names to copy into each spec file's environment (describe, context, it, pending,
///   before_each, after_each, setup, lazy_setup, teardown, assert, fixture, fixture_json).
/// - `F.begin_file(chunkname)`: call before running each spec file's chunk.
/// - `F.collect()`: after all spec files ran, `[{ id, name, location, pending? }]` in declaration order.
/// - `F.run_one(id)`: `{ ok = true }`, `{ ok = false, message, location }` or `{ pending = true, message? }`.
///   Call it once per test (each call may run in its own invocation/budget); test bodies may yield.
/// - `F.finish()` (optional): runs teardowns still owed when only a subset of tests ran; returns
///   `[{ message, location }]` for teardowns that failed.
enum LuaTestFramework {
    static let chunkName = "=conflux/testing.lua"
    static let source = #"""
    -- conflux/testing.lua: the busted-style framework plugin specs run on.
    --
    -- It runs inside the plugin sandbox, so it reads only allowlisted globals,
    -- never writes one, and cannot use the debug library. The host loads this
    -- chunk once per test state with a `host` table ({ fixture = fn(path) }) and
    -- drives it through the table it returns:
    --   F.globals        names the host copies into every spec file's environment
    --   F.begin_file(c)  before each spec chunk runs (c = that chunk's chunkname)
    --   F.collect()      -> { { id, name, location, pending }, ... } in declaration order
    --   F.run_one(id)    -> { ok = true } | { ok = false, message, location } | { pending = true }
    --   F.finish()       optional: runs teardowns still owed when only some tests ran
    local host = ...

    local type, tostring, tonumber, select, next = type, tostring, tonumber, select, next
    local ipairs, error, pcall, xpcall = ipairs, error, pcall, xpcall
    local rawget, rawequal, setmetatable, getmetatable = rawget, rawequal, setmetatable, getmetatable
    local sformat, sfind, concat, sort, insert = string.format, string.find, table.concat, table.sort, table.insert
    local mtype, abs = math.type, math.abs

    -- ===== Pretty printer =====
    -- Deterministic (sorted keys, no addresses) so failure messages are stable
    -- between runs and can be compared in CI logs; depth and width are capped.
    local MAX_DEPTH, MAX_ITEMS = 5, 40

    local KEYWORDS = {}
    for w in ("and break do else elseif end false for function goto if in local nil not or repeat return then true until while"):gmatch("%a+") do
      KEYWORDS[w] = true
    end
    local function is_name(k)
      return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not KEYWORDS[k]
    end

    -- Numbers first (ascending, so array parts print in order), then strings, then the rest.
    local TYPE_ORDER = { number = 1, string = 2, boolean = 3 }
    local function key_less(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then
        local ra, rb = TYPE_ORDER[ta] or 4, TYPE_ORDER[tb] or 4
        if ra ~= rb then return ra < rb end
        return ta < tb
      end
      if ta == "number" or ta == "string" then return a < b end
      if ta == "boolean" then return not a and b end
      return tostring(a) < tostring(b) -- table/function keys: only stable within one run, rare in practice
    end

    -- next() instead of pairs(): comparisons and printing ignore metatables (__pairs included).
    local function sorted_keys(t)
      local keys = {}
      for k in next, t do keys[#keys + 1] = k end
      sort(keys, key_less)
      return keys
    end

    local function scalar(v)
      local tv = type(v)
      if tv == "string" then
        return (sformat("%q", v):gsub("\\\n", "\\n")) -- %q writes newlines as backslash-newline; keep one line
      elseif tv == "number" then
        if mtype(v) == "integer" then return tostring(v) end
        local s = tostring(v) -- Lua prints 14 digits; show all of them when that would hide a difference
        if v == v and tonumber(s) ~= v then s = sformat("%.17g", v) end
        return s
      elseif tv == "nil" or tv == "boolean" then
        return tostring(v)
      end
      local mt = getmetatable(v) -- host userdata often knows how to describe itself
      if type(mt) == "table" and rawget(mt, "__tostring") then
        local ok, s = pcall(tostring, v)
        if ok and type(s) == "string" then return s end
      end
      return "<" .. tv .. ">"
    end

    local function render(v, depth, open)
      if type(v) ~= "table" then return scalar(v) end
      if open[v] then return "<cycle>" end
      if depth >= MAX_DEPTH then return "{...}" end
      open[v] = true
      local parts, index = {}, 1
      for _, k in ipairs(sorted_keys(v)) do
        if #parts >= MAX_ITEMS then parts[#parts + 1] = "..."; break end
        local item = render(rawget(v, k), depth + 1, open)
        if k == index then
          index = index + 1 -- sequence part: values only
        else
          item = (is_name(k) and k or "[" .. render(k, depth + 1, open) .. "]") .. " = " .. item
        end
        parts[#parts + 1] = item
      end
      open[v] = nil -- shared (non-cyclic) subtables print in full each time
      return #parts == 0 and "{}" or "{ " .. concat(parts, ", ") .. " }"
    end

    local function pretty(v) return render(v, 0, {}) end

    local function path_part(k)
      if is_name(k) then return "." .. k end
      return "[" .. pretty(k) .. "]"
    end

    -- Deep comparison ignoring metatables. Returns nil when equal, otherwise the
    -- path of the first difference (in sorted key order) and the values there.
    local function first_difference(e, a, path, seen)
      if rawequal(e, a) then return nil end
      if type(e) == "number" and type(a) == "number" and e ~= e and a ~= a then return nil end -- NaN ~ NaN
      if type(e) ~= "table" or type(a) ~= "table" then return path, e, a end
      local pairs_seen = seen[e] or {}
      seen[e] = pairs_seen
      if pairs_seen[a] then return nil end -- already comparing this pair further up: cycles are equal so far
      pairs_seen[a] = true
      for _, k in ipairs(sorted_keys(e)) do
        local p, x, y = first_difference(rawget(e, k), rawget(a, k), path .. path_part(k), seen)
        if p then return p, x, y end
      end
      for _, k in ipairs(sorted_keys(a)) do
        if rawget(e, k) == nil then return path .. path_part(k), nil, rawget(a, k) end
      end
      return nil
    end

    local function is_same(e, a) return first_difference(e, a, "", {}) == nil end

    -- ===== Error values =====
    local function error_text(e)
      if type(e) == "string" then return e end
      if type(e) == "table" then
        local m = rawget(e, "message")
        if m ~= nil then return tostring(m) end
        local mt = getmetatable(e)
        if type(mt) == "table" and rawget(mt, "__tostring") then return tostring(e) end
        return "error object " .. pretty(e)
      end
      return tostring(e)
    end

    -- "spec/a_spec.lua:12: boom" -> "spec/a_spec.lua:12", "boom". The source part
    -- may not span lines, so a message that merely contains "x:1: " later is left alone.
    local function split_position(msg)
      local pos, rest = msg:match("^([^\n]-:%d+): (.*)$")
      if pos then return pos, rest end
      return nil, msg
    end

    local function strip_position(msg) return (select(2, split_position(msg))) end

    -- Lua shortens long chunk names to "...tail"; put back the full file name when we know it.
    local function full_location(pos, file)
      if pos and file and pos:sub(1, 3) == "..." then
        local tail, line = pos:match("^%.%.%.(.*):(%d+)$")
        if tail and file:sub(-#tail) == tail then return file .. ":" .. line end
      end
      return pos
    end

    -- The position of a caller without the debug library: error() prefixes its
    -- message with "source:line: " for the requested level, and pcall hands the
    -- string back. level 1 = the function calling where().
    local function where(level)
      local _, msg = pcall(error, "", level + 2)
      return msg:match("^(.-:%d+): $")
    end

    -- ===== Assertions =====
    -- Each check returns `passed, explain`; explain() builds the
    -- failure text lazily so passing assertions never pretty-print anything.
    local checks, arity = {}, {}
    local function def(name, nargs, check) checks[name], arity[name] = check, nargs end

    -- Raised from inside a check: misuse (1) < check (2) < assertion (3) < spec line (4).
    local function misuse(msg) error("bad assert usage: " .. msg, 4) end

    def("same", 2, function(expected, actual)
      local path, e, a = first_difference(expected, actual, "", {})
      if not path then
        return true, function() return "Expected objects not to be the same.\nboth are: " .. pretty(actual) end
      end
      return false, function()
        local at = path == "" and "" or sformat("at %s: expected %s, got %s\n", path, pretty(e), pretty(a))
        return "Expected objects to be the same.\n" .. at ..
          "expected: " .. pretty(expected) .. "\nactual:   " .. pretty(actual)
      end
    end)

    def("equal", 2, function(expected, actual)
      if expected == actual then
        return true, function() return "Expected objects not to be equal.\nboth are: " .. pretty(actual) end
      end
      return false, function()
        local hint = ""
        if type(expected) == "table" and type(actual) == "table" and is_same(expected, actual) then
          hint = "\n(same contents but different tables: use assert.same to compare contents)"
        end
        return "Expected objects to be equal.\nexpected: " .. pretty(expected) .. "\nactual:   " .. pretty(actual) .. hint
      end
    end)

    local function unary(name, wanted, pred, show_type)
      def(name, 1, function(v)
        local passed = pred(v)
        return passed, function()
          local shown = pretty(v) .. (show_type and " (" .. type(v) .. ")" or "")
          return sformat("Expected value %sto be %s.\nactual: %s", passed and "not " or "", wanted, shown)
        end
      end)
    end
    unary("true", "true", function(v) return v == true end)
    unary("false", "false", function(v) return v == false end)
    unary("nil", "nil", function(v) return v == nil end)
    unary("truthy", "truthy (not nil or false)", function(v) return not not v end)
    unary("falsy", "falsy (nil or false)", function(v) return not v end)
    for _, t in ipairs({ "table", "string", "number", "function", "boolean", "userdata", "thread" }) do
      local article = t:match("^[aeiou]") and "an " or "a "
      unary(t, article .. t, function(v) return type(v) == t end, true)
    end

    local function callable(fn)
      local mt = getmetatable(fn)
      return type(fn) == "function" or (type(mt) == "table" and rawget(mt, "__call") ~= nil)
    end

    -- has_error(fn[, expected]): a string matches the message with or without its
    -- "file:line: " prefix; a table matches a table error with the same contents.
    def("error", 2, function(fn, expected)
      if not callable(fn) then misuse("has_error needs a function to call, got " .. pretty(fn)) end
      local ok, err = pcall(fn) -- pcall is yieldable, so fn may call host functions that yield
      local wanted = expected == nil and "an error" or "error " .. pretty(expected)
      if ok then
        return false, function() return "Expected " .. wanted .. ", but the function returned normally." end
      end
      local matched = expected == nil
      if type(expected) == "table" then
        matched = type(err) == "table" and is_same(expected, err)
      elseif expected ~= nil then
        local text = error_text(err)
        matched = text == expected or strip_position(text) == expected
      end
      if matched then
        return true, function() return "Expected no " .. (expected == nil and "error" or wanted) .. ", but got: " .. pretty(err) end
      end
      return false, function() return "Expected " .. wanted .. "\nactual error: " .. pretty(err) end
    end)

    def("error_matches", 2, function(fn, pattern)
      if not callable(fn) then misuse("error_matches needs a function to call, got " .. pretty(fn)) end
      if type(pattern) ~= "string" then misuse("error_matches needs a pattern string, got " .. pretty(pattern)) end
      local ok, err = pcall(fn)
      if ok then
        return false, function() return "Expected an error matching " .. pretty(pattern) .. ", but the function returned normally." end
      end
      local text = error_text(err)
      local good, found = pcall(sfind, text, pattern)
      if not good then misuse("invalid pattern " .. pretty(pattern) .. ": " .. strip_position(found)) end
      local passed = found ~= nil
      return passed, function()
        return sformat("Expected an error %smatching %s.\nactual error: %s", passed and "not " or "", pretty(pattern), pretty(text))
      end
    end)

    def("matches", 2, function(pattern, s)
      if type(pattern) ~= "string" then misuse("matches(pattern, string) needs a pattern string, got " .. pretty(pattern)) end
      if type(s) == "number" then s = tostring(s) end
      local passed = false
      if type(s) == "string" then
        local good, found = pcall(sfind, s, pattern)
        if not good then misuse("invalid pattern " .. pretty(pattern) .. ": " .. strip_position(found)) end
        passed = found ~= nil
      end
      return passed, function()
        return sformat("Expected %s %sto match pattern %s.", pretty(s), passed and "not " or "", pretty(pattern))
      end
    end)

    def("near", 3, function(expected, actual, tolerance)
      if type(expected) ~= "number" or type(tolerance) ~= "number" then
        misuse("near(expected, actual, tolerance) needs numbers, got " .. pretty(expected) .. " and " .. pretty(tolerance))
      end
      local passed = type(actual) == "number" and abs(expected - actual) <= tolerance
      return passed, function()
        return sformat("Expected %s %sto be within %s of %s.", pretty(actual), passed and "not " or "", pretty(tolerance), pretty(expected))
      end
    end)

    -- Spellings: assert.are.same, assert.same, assert.is_not.equal, assert.has_no.errors,
    -- assert.is_true, assert.is.True ... Keys are split on "_"; filler words are dropped,
    -- "not"/"no" flip the sense, and whatever remains names the check.
    local FILLER = { is = true, are = true, has = true, have = true, does = true, was = true, to = true, be = true }
    local NEGATORS = { ["not"] = true, no = true }
    local ALIASES = {
      equals = "equal", errors = "error", error_match = "error_matches", matches_error = "error_matches",
      match = "matches", falsey = "falsy",
    }

    local cache = { [false] = {}, [true] = {} }

    local function assertion(name, negated)
      local found = cache[negated][name]
      if found then return found end
      local check, nargs = checks[name], arity[name]
      found = function(...)
        local passed, explain = check(...)
        local failed
        if negated then failed = passed else failed = not passed end
        if failed then
          local msg = explain()
          local custom = select(nargs + 1, ...)
          if custom ~= nil then msg = tostring(custom) .. "\n" .. msg end
          error(msg, 2) -- level 2: the spec line that called the assertion
        end
      end
      cache[negated][name] = found
      return found
    end

    local chain -- forward declaration: a chain key may lead to another chain

    -- Called from an __index metamethod, so level 3 is the spec line with the typo.
    local function resolve(key, negated)
      if type(key) ~= "string" then error("unknown assertion " .. pretty(key), 3) end
      local words = {}
      for w in key:lower():gmatch("[^_]+") do
        if NEGATORS[w] then negated = not negated
        elseif not FILLER[w] then words[#words + 1] = w end
      end
      if #words == 0 then return chain(negated) end
      local name = concat(words, "_")
      name = ALIASES[name] or name
      if not checks[name] then error("unknown assertion '" .. key .. "'", 3) end
      return assertion(name, negated)
    end

    local chains = {}
    function chain(negated)
      if not chains[negated] then
        chains[negated] = setmetatable({}, {
          __index = function(_, key) local v = resolve(key, negated); return v end, -- not a tail call: keeps levels
        })
      end
      return chains[negated]
    end

    -- The root is also callable like Lua's assert; the message gets the spec position.
    local assert_root = setmetatable({}, {
      __index = function(_, key) local v = resolve(key, false); return v end,
      __call = function(_, value, message, ...)
        if value then return value, message, ... end
        if message == nil then message = "assertion failed!" end
        error(message, 2)
      end,
    })

    -- ===== Declarations =====
    local tests = {}    -- by id, in declaration order
    local blocks = {}   -- every block, parents before children
    local current       -- block that receives registrations
    local current_file  -- file name from begin_file, for locations
    local running       -- test being run by run_one (declarations are refused then)

    local function new_block(name, parent)
      local b = { name = name, parent = parent, remaining = 0,
                  setups = {}, teardowns = {}, befores = {}, afters = {} }
      blocks[#blocks + 1] = b
      return b
    end

    -- error level 3: declaring (1) < API function (2) < spec line (3)
    local function declaring(what)
      if running then error(what .. "() cannot be used inside a running test", 3) end
      if not current then current = new_block(nil, nil) end
    end

    local function register(name, fn, location)
      local names, b = { tostring(name) }, current
      while b do
        if b.name then insert(names, 1, b.name) end
        b.remaining = b.remaining + 1 -- counts down as tests run; 0 means teardown is due
        b = b.parent
      end
      local id = #tests + 1
      tests[id] = { id = id, name = concat(names, " > "), location = location or current_file,
                    fn = fn, pending = fn == nil, block = current, file = current_file }
    end

    local function describe(name, fn)
      declaring("describe")
      if type(fn) ~= "function" then error("describe(name, fn) needs a function", 2) end
      local parent = current
      current = new_block(tostring(name), parent)
      local ok, err = pcall(fn)
      current = parent -- restore even on error so later registrations land in the right block
      if not ok then error(err, 0) end -- re-raise unchanged: it already carries its position
    end

    local function it(name, fn)
      declaring("it")
      if fn ~= nil and type(fn) ~= "function" then error("it(name, fn): fn must be a function", 2) end
      local location = full_location(where(2), current_file)
      register(name, fn, location)
    end

    local PENDING = {} -- key marking the error value pending() raises inside a running test

    -- While declaring: registers a pending test. Inside a running test: stops it as pending.
    local function pending(name)
      if running then error({ [PENDING] = true, message = name ~= nil and tostring(name) or nil }, 0) end
      declaring("pending")
      local location = full_location(where(2), current_file)
      register(name, nil, location)
    end

    local function hook(list, what)
      return function(fn)
        declaring(what)
        if type(fn) ~= "function" then error(what .. "(fn) needs a function", 2) end
        insert(current[list], fn)
      end
    end

    -- ===== Running =====
    -- Message handler: turns any error value into { message, location }. It runs
    -- before the stack unwinds but, without the debug library, all it can use is
    -- the "source:line:" prefix that error levels put into string messages.
    local function to_record(e)
      if type(e) == "table" and rawget(e, PENDING) then return { pending = true, message = e.message } end
      local location, message = split_position(error_text(e))
      return { message = message, location = location }
    end

    local function handler(e)
      local ok, record = pcall(to_record, e)
      if ok then return record end
      return { message = "(error value could not be rendered)" }
    end

    -- Plain call chain with xpcall (yieldable in 5.4), so bodies may yield to the host.
    local function call(fn, test)
      local ok, record = xpcall(fn, handler)
      if ok then return nil end
      record.location = full_location(record.location, test and test.file) or (test and test.location)
      return record
    end

    local function in_context(record, what, block)
      if record.pending then return record end
      local label = block.name and sformat("%s of %q", what, block.name) or what .. " (top level)"
      return { message = "in " .. label .. ": " .. record.message, location = record.location }
    end

    local function run_teardowns(block, problems, test)
      if block.setup_state ~= "ran" then return end
      block.setup_state = "done"
      for _, fn in ipairs(block.teardowns) do
        local record = call(fn, test)
        if record then problems[#problems + 1] = in_context(record, "teardown", block) end
      end
    end

    local function run_body(test, chain_of_blocks, problems)
      -- setup: once per block, outermost first; a failed setup fails every test of its block
      for _, block in ipairs(chain_of_blocks) do
        if not block.setup_state then
          block.setup_state = "ran"
          for _, fn in ipairs(block.setups) do
            local record = call(fn, test)
            if record then block.setup_error = in_context(record, "setup", block); break end
          end
        end
        if block.setup_error then problems[#problems + 1] = block.setup_error; return end
      end
      -- before_each outermost first; remember how far we got so only entered levels unwind
      local entered, record = 0, nil
      for i, block in ipairs(chain_of_blocks) do
        entered = i
        for _, fn in ipairs(block.befores) do
          record = call(fn, test)
          if record then record = in_context(record, "before_each", block); break end
        end
        if record then break end
      end
      if not record then record = call(test.fn, test) end
      if record then problems[#problems + 1] = record end
      -- after_each innermost first, also when the body failed
      for i = entered, 1, -1 do
        for _, fn in ipairs(chain_of_blocks[i].afters) do
          local after = call(fn, test)
          if after then problems[#problems + 1] = in_context(after, "after_each", chain_of_blocks[i]) end
        end
      end
    end

    -- First real failure wins; later ones are appended so nothing is lost.
    local function summarize(problems)
      local first, extra, skipped
      for _, p in ipairs(problems) do
        if p.pending then
          skipped = skipped or p
        elseif not first then
          first, extra = p, {}
        else
          extra[#extra + 1] = "also: " .. p.message .. (p.location and " (" .. p.location .. ")" or "")
        end
      end
      if first then
        local message = first.message
        if #extra > 0 then message = message .. "\n" .. concat(extra, "\n") end
        return { ok = false, message = message, location = first.location }
      end
      if skipped then return { pending = true, message = skipped.message } end
      return { ok = true }
    end

    local F = {}

    function F.begin_file(chunkname)
      current_file = (tostring(chunkname or "?"):gsub("^[@=]", ""))
      current = new_block(nil, nil) -- each file is an unnamed block: its top-level hooks stay in it
    end

    function F.collect()
      local list = {}
      for i, t in ipairs(tests) do
        list[i] = { id = t.id, name = t.name, location = t.location, pending = t.pending or nil }
      end
      return list
    end

    function F.run_one(id)
      local test = tests[id]
      if not test then error("run_one: no test with id " .. tostring(id), 2) end
      local chain_of_blocks, block = {}, test.block
      while block do insert(chain_of_blocks, 1, block); block = block.parent end
      -- Count the test as run before running it: if the host kills it (CPU/memory
      -- limit), the state of this module is still consistent for the next call.
      if not test.ran then
        test.ran = true
        for _, b in ipairs(chain_of_blocks) do b.remaining = b.remaining - 1 end
      end
      running = test
      local problems = {}
      if test.pending then
        problems[1] = { pending = true }
      else
        run_body(test, chain_of_blocks, problems)
      end
      for i = #chain_of_blocks, 1, -1 do -- teardown innermost first, once a block's last test ran
        if chain_of_blocks[i].remaining <= 0 then run_teardowns(chain_of_blocks[i], problems, test) end
      end
      running = nil
      return summarize(problems)
    end

    -- For hosts that run a subset of tests: teardowns of blocks whose setup ran
    -- but whose last test never did. Returns a list of { message, location }.
    function F.finish()
      local problems = {}
      for i = #blocks, 1, -1 do run_teardowns(blocks[i], problems, nil) end -- children before parents
      return problems
    end

    -- ===== Spec globals =====
    local function read_fixture(path)
      if type(host) ~= "table" or type(host.fixture) ~= "function" then
        return false, "fixtures are not available in this test run"
      end
      local ok, text = pcall(host.fixture, path)
      if not ok then return false, "fixture " .. pretty(path) .. ": " .. strip_position(error_text(text)) end
      return true, text
    end

    local function fixture(path)
      local ok, text = read_fixture(path)
      if not ok then error(text, 2) end
      return text
    end

    local function fixture_json(path)
      local ok, text = read_fixture(path)
      if not ok then error(text, 2) end
      -- Looked up on use: reading an undefined global is an error in the sandbox.
      local found, json = pcall(function() return require("json") end)
      if not found or type(json) ~= "table" or type(json.decode) ~= "function" then
        error("fixture_json: the json module is not available", 2)
      end
      local decoded, value = pcall(json.decode, text)
      if not decoded then error("fixture_json " .. pretty(path) .. ": " .. strip_position(error_text(value)), 2) end
      return value
    end

    local setup = hook("setups", "setup")

    F.globals = {
      describe = describe, context = describe, it = it, pending = pending,
      before_each = hook("befores", "before_each"), after_each = hook("afters", "after_each"),
      setup = setup, lazy_setup = setup, teardown = hook("teardowns", "teardown"),
      assert = assert_root, fixture = fixture, fixture_json = fixture_json,
    }

    return F
    """#
}
