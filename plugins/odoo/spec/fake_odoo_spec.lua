-- The fake Odoo the other specs lean on: its checks must bite, or the connector's specs prove less than they say.
local json = require("json")
local FakeOdoo = require("spec.fake_odoo")

describe("the fake Odoo", function()
  local odoo

  before_each(function() odoo = FakeOdoo.new() end)

  local function rpc(args, service, method)
    local text = json.encode({ jsonrpc = "2.0", method = "call", id = 1,
                               params = { service = service or "object", method = method or "execute_kw", args = json.array(args) } })
    local first, last = text:find('"KEY"', 1, true)
    return { method = "POST", url = "http://odoo.test/jsonrpc", headers = { ["Content-Type"] = "application/json" },
             body = first and secret.join(text:sub(1, first), secret.json(secret("odoo/api_key")), text:sub(last)) or text }
  end

  local function refused(request, pattern)
    local ok, err = pcall(odoo.send, odoo, request)
    assert.is_false(ok)
    assert.matches("^fake odoo: ", err)
    assert.matches(pattern, err)
    assert.are.equal(1, #odoo.problems)
  end

  it("answers execute_kw with a JSON-RPC result", function()
    local answer = odoo:send(rpc({ "clinic", 2, "KEY", "product.product", "search", json.array({}),
                                   { domain = { { "default_code", "=", "99213" } }, limit = 1 } }))
    assert.are.same({ 200, { odoo.ids.p99213 } }, { answer.status, answer.json.result })
  end)

  it("refuses a body with the API key as text instead of a secret handle", function()
    local request = rpc({ "clinic", 2, "the-real-key", "res.partner", "search", json.array({}), { domain = {} } })
    refused(request, "secret handle")
  end)

  it("refuses an API key spliced raw, which a quote in it would break", function()
    local text = json.encode({ jsonrpc = "2.0", method = "call", id = 1,
                               params = { service = "object", method = "execute_kw",
                                          args = json.array({ "clinic", 2, "KEY", "res.partner", "search", json.array({}), { domain = {} } }) } })
    local first, last = text:find('"KEY"', 1, true)
    refused({ method = "POST", url = "http://odoo.test/jsonrpc", headers = { ["Content-Type"] = "application/json" },
              body = secret.join(text:sub(1, first), secret("odoo/api_key"), text:sub(last)) }, "spliced with secret.json")
  end)

  it("refuses an API key that is not in the body", function()
    local request = rpc({ "clinic", 2, false, "res.partner", "search", json.array({}), { domain = {} } })
    request.body = secret.join(secret.json(secret("odoo/api_key")), "")
    refused(request, "API key exactly once")
  end)

  it("refuses a value that still holds a marker", function()
    refused(rpc({ "clinic", 2, "KEY", "res.partner", "create", json.array({}),
                  { vals_list = { { name = "X", parent_id = { xmlid = "conflux.x" } } } } }), "unresolved marker")
  end)

  it("refuses a many2one that is not a record id", function()
    refused(rpc({ "clinic", 2, "KEY", "account.move", "create", json.array({}), { vals_list = { { partner_id = 999 } } } }),
      "no res.partner with id 999")
  end)

  it("refuses a parameter the method does not take", function()
    refused(rpc({ "clinic", 2, "KEY", "res.partner", "create", json.array({}), { vals = { name = "X" } } }), "takes no parameter 'vals'")
  end)

  it("answers AccessDenied to a uid it did not give", function()
    local answer = odoo:send(rpc({ "clinic", 99, "KEY", "res.partner", "search", json.array({}), { domain = {} } }))
    assert.are.equal("odoo.exceptions.AccessDenied", answer.json.error.data.name)
  end)

  it("refuses, like Odoo, to write on a posted invoice", function()
    local partner = odoo:add("res.partner", { name = "Maria Okafor" })
    local move = odoo:add("account.move", { partner_id = partner,
      invoice_line_ids = { { 0, 0, { product_id = odoo.ids.p99213, name = "99213", quantity = 1, price_unit = 125.0 } } } })
    odoo:post("account.move", move)
    local answer = odoo:send(rpc({ "clinic", 2, "KEY", "account.move", "write", json.array({ { move } }), { vals = { ref = "x" } } }))
    assert.are.equal("odoo.exceptions.UserError", answer.json.error.data.name)
    assert.are.same({}, odoo.problems)
  end)

  it("refuses a JSON-2 call whose Authorization is plain text", function()
    refused({ method = "POST", url = "http://odoo.test/json/2/res.partner/search", json = { domain = {} },
              headers = { Authorization = "bearer the-real-key", ["X-Odoo-Database"] = "clinic" } }, "secret handle")
  end)
end)
