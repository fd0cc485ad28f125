local plugin = require("plugin")
local json = require("json")
local FakeOdoo = require("spec.fake_odoo")

describe("odoo over JSON-RPC", function()
  local odoo, ctx, partner_op

  before_each(function()
    odoo = FakeOdoo.new()
    odoo:install(plugin)
    ctx = { config = { url = "http://odoo.test", database = "clinic", protocol = "jsonrpc", login = "conflux-bot",
                       api_key_secret = "odoo/api_key" } }
    partner_op = fixture_json("fixtures/partner.json")
  end)

  after_each(function() assert.are.same({}, odoo.problems) end)

  local function fails(op)
    local ok, err = pcall(plugin.deliver, op, ctx)
    assert.is_false(ok)
    assert.is_table(err)
    return err
  end

  -- The connector keeps a uid per url/database/login for the life of its state, and the specs share one state: a login
  -- no other test uses starts without a session.
  local function fresh_login(name)
    odoo.login, ctx.config.login = name, name
  end

  -- The session is known to be established (any successful call), then the log is cleared.
  local function with_session()
    plugin.deliver(partner_op, ctx)
    odoo:forget_log()
  end

  describe("the wire", function()
    it("authenticates first with (db, login, key, {}), then calls execute_kw with (db, uid, key, model, method, args, kwargs)", function()
      fresh_login("wire-bot")
      plugin.deliver(partner_op, ctx)
      assert.are.equal("common.authenticate", odoo.trace[1])
      local auth = json.decode(tostring(odoo.requests[1].body))
      assert.are.same({ jsonrpc = "2.0", method = "call", id = auth.id,
                        params = { service = "common", method = "authenticate", args = { "clinic", "wire-bot", "secret.json(secret(odoo/api_key))", {} } } },
        auth)
      local call = json.decode(tostring(odoo.requests[2].body))
      assert.are.same({ service = "object", method = "execute_kw", args = {
        "clinic", 2, "secret.json(secret(odoo/api_key))", "ir.model.data", "search_read", {},
        { domain = { { "module", "=", "conflux" }, { "name", "=", "patient_MRN-0047711" } }, fields = { "model", "res_id" }, limit = 1 },
      } }, call.params)
      assert.is_true(call.id > auth.id)
    end)

    it("passes record ids positionally and the rest as keywords", function()
      with_session()
      plugin.deliver(partner_op, ctx)
      local write = json.decode(tostring(odoo.requests[2].body)).params.args
      assert.are.same({ "res.partner", "write" }, { write[4], write[5] })
      assert.are.same({ { odoo:all("res.partner")[1].id } }, write[6])
      local keywords = {}
      for name in pairs(write[7]) do keywords[#keywords + 1] = name end
      assert.are.same({ "vals" }, keywords)
      assert.are.equal("Maria Okafor", write[7].vals.name)
    end)

    it("splices the API key into the body as a secret handle the host escapes for JSON, never as text", function()
      with_session()
      plugin.deliver(partner_op, ctx)
      for _, request in ipairs(odoo.requests) do
        assert.are_not.equal("string", type(request.body))
        assert.are.equal("secret", getmetatable(request.body))
        local text = tostring(request.body)
        assert.is_not_nil(text:find('"secret.json(secret(odoo/api_key))"', 1, true))
        assert.is_nil(text:find("conflux-api-key-", 1, true))
      end
    end)

    it("POSTs JSON to <url>/jsonrpc with the default 30 s timeout, or the configured one", function()
      with_session()
      plugin.deliver(partner_op, ctx)
      local request = odoo.requests[1]
      assert.are.same({ "POST", "http://odoo.test/jsonrpc", "application/json", 30000 },
        { request.method, request.url, request.headers["Content-Type"], request.timeout_ms })
      ctx.config.timeout_ms = 5000
      plugin.deliver(partner_op, ctx)
      assert.are.equal(5000, odoo.requests[#odoo.requests].timeout_ms)
    end)

    it("joins a URL with a trailing slash cleanly", function()
      ctx.config.url = "http://odoo.test//"
      plugin.deliver(partner_op, ctx)
      for _, request in ipairs(odoo.requests) do assert.are.equal("http://odoo.test/jsonrpc", request.url) end
    end)

    it("authenticates once and reuses the uid for later deliveries", function()
      fresh_login("reuse-bot")
      plugin.deliver(partner_op, ctx)
      plugin.deliver(partner_op, ctx)
      assert.are.equal(1, odoo.authentications)
      assert.are.equal("common.authenticate", odoo.trace[1])
    end)
  end)

  describe("authentication", function()
    it("a refused key (AccessDenied on execute_kw) re-authenticates exactly once, then the call succeeds", function()
      with_session()
      odoo:fail{ name = "odoo.exceptions.AccessDenied", message = "Access Denied" }
      local result = plugin.deliver(partner_op, ctx)
      assert.are.equal(1, odoo.authentications)
      assert.are.same({ "ir.model.data.search_read -> odoo.exceptions.AccessDenied", "common.authenticate",
                        "ir.model.data.search_read", "res.partner.write" }, odoo.trace)
      assert.are.same({ false, true }, { result.created, result.written })
    end)

    it("AccessDenied again after re-authenticating: permanent, and nothing more is sent", function()
      with_session()
      odoo:fail{ name = "odoo.exceptions.AccessDenied", message = "Access Denied", times = 2 }
      assert.are.same({ retryable = false, message = "Odoo access denied at http://odoo.test/jsonrpc object.execute_kw: Access Denied "
        .. "(odoo.exceptions.AccessDenied)" }, fails(partner_op))
      assert.are.equal(1, odoo.authentications)
      assert.are.same({ "ir.model.data.search_read -> odoo.exceptions.AccessDenied", "common.authenticate",
                        "ir.model.data.search_read -> odoo.exceptions.AccessDenied" }, odoo.trace)
    end)

    it("an expired session is treated like a refused key", function()
      with_session()
      odoo:fail{ name = "odoo.http.SessionExpiredException", message = "Session expired" }
      plugin.deliver(partner_op, ctx)
      assert.are.equal(1, odoo.authentications)
    end)

    it("a login Odoo refuses (authenticate answers false): permanent, naming the login and the database", function()
      ctx.config.login = "nobody"
      assert.are.same({ retryable = false, message = "Odoo refused the login nobody on database clinic (wrong login or API key odoo/api_key)" },
        fails(partner_op))
      assert.are.same({ "common.authenticate" }, odoo.trace)
    end)

    it("a key Odoo refuses at authentication: permanent, and tried again on the next delivery", function()
      fresh_login("rotated-bot")
      odoo.refuse_key = true
      assert.are.equal("Odoo refused the login rotated-bot on database clinic (wrong login or API key odoo/api_key)",
        fails(partner_op).message)
      odoo.refuse_key = false
      assert.is_true(plugin.deliver(partner_op, ctx).created)
      assert.are.equal(2, odoo.authentications)
    end)

    it("does not re-authenticate for errors that are not about credentials", function()
      with_session()
      odoo:fail{ model = "res.partner", method = "write", name = "odoo.exceptions.AccessError",
                 message = "You are not allowed to modify 'Contact' (res.partner) records." }
      fails(partner_op)
      assert.are.equal(0, odoo.authentications)
      assert.are.equal(1, #odoo:calls_to("res.partner", "write"))
    end)
  end)

  describe("Odoo's errors", function()
    local permanent = {
      { "odoo.exceptions.ValidationError", "validation error", "The VAT number [BE0477472701] does not seem to be valid." },
      { "odoo.exceptions.UserError", "user error", "You cannot create a partner without a name." },
      { "odoo.exceptions.AccessError", "access error", "You are not allowed to create 'Contact' (res.partner) records." },
      { "odoo.exceptions.MissingError", "missing record", "Record does not exist or has been deleted." },
      { "builtins.ValueError", "value error", "Invalid field 'colour' on model 'res.partner'" },
    }
    for _, case in ipairs(permanent) do
      local name, label, message = case[1], case[2], case[3]
      it(name .. " is permanent, with Odoo's message kept", function()
        with_session()
        odoo:fail{ model = "res.partner", method = "write", name = name, message = message }
        assert.are.same({ retryable = false, message = ("Odoo %s at http://odoo.test/jsonrpc object.execute_kw: %s (%s)")
          :format(label, message, name) }, fails(partner_op))
        assert.are.equal(0, odoo.authentications)
      end)
    end

    it("psycopg2.errors.SerializationFailure is retryable", function()
      with_session()
      odoo:fail{ model = "res.partner", method = "write", name = "psycopg2.errors.SerializationFailure",
                 message = "could not serialize access due to concurrent update" }
      assert.are.same({ retryable = true, message = "Odoo error at http://odoo.test/jsonrpc object.execute_kw: could not serialize access "
        .. "due to concurrent update (psycopg2.errors.SerializationFailure)" }, fails(partner_op))
    end)

    it("a SerializationFailure is retryable by its name, whatever its message", function()
      with_session()
      odoo:fail{ model = "res.partner", method = "write", name = "psycopg2.errors.SerializationFailure", message = "Odoo Server Error" }
      assert.is_true(fails(partner_op).retryable)
    end)

    it("a deadlock is retryable", function()
      with_session()
      odoo:fail{ model = "res.partner", method = "write", name = "psycopg2.errors.DeadlockDetected", message = "deadlock detected" }
      assert.is_true(fails(partner_op).retryable)
    end)

    it("a lock that was not available is retryable", function()
      with_session()
      odoo:fail{ model = "res.partner", method = "write", name = "psycopg2.errors.LockNotAvailable",
                 message = 'could not obtain lock on row in relation "res_partner"' }
      assert.is_true(fails(partner_op).retryable)
    end)

    it("a concurrent update reported under another name is retryable by its message", function()
      with_session()
      odoo:fail{ model = "res.partner", method = "write", name = "odoo.exceptions.UserError",
                 message = "could not serialize access due to concurrent update" }
      assert.is_true(fails(partner_op).retryable)
    end)

    it("an error without data is named by its message", function()
      with_session()
      plugin._send = function()
        local text = '{"jsonrpc":"2.0","id":1,"error":{"code":404,"message":"404: Not Found"}}'
        return { status = 200, headers = { ["content-type"] = "application/json" }, body = text, json = json.decode(text) }
      end
      assert.are.same({ retryable = false, message = "Odoo error at http://odoo.test/jsonrpc object.execute_kw: 404: Not Found (404: Not Found)" },
        fails(partner_op))
    end)

    it("an HTTP status other than 200: permanent, naming the URL and the call", function()
      ctx.config.url = "http://odoo.test/odoo"
      assert.are.same({ retryable = false, message = "Odoo answered HTTP 404 at http://odoo.test/odoo/jsonrpc common.authenticate" },
        fails(partner_op))
    end)

    it("a 200 answer that is not JSON: retryable, with the start of the body", function()
      with_session()
      plugin._send = function()
        return { status = 200, headers = { ["content-type"] = "text/html" }, body = "<html><body>Odoo is restarting</body></html>" }
      end
      assert.are.same({ retryable = true, message = "Odoo's answer at http://odoo.test/jsonrpc object.execute_kw is not JSON-RPC "
        .. "(<html><body>Odoo is restarting</body></html>)" }, fails(partner_op))
    end)

    it("no answer at all: http.request's retryable error goes through unchanged", function()
      local raised = { message = "http.request: timed out after 30000 ms", retryable = true }
      plugin._send = function() error(raised, 0) end
      assert.has_error(function() plugin.deliver(partner_op, ctx) end, raised)
    end)
  end)
end)
