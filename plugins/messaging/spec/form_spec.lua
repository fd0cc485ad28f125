local form = require("lib.form")

describe("form encoding", function()
  it("keeps letters, digits and * - . _ and turns a space into +", function()
    assert.are.equal("Reply+C*-._ok", form.component("Reply C*-._ok"))
  end)

  it("escapes everything else as upper-case %XX, byte by byte", function()
    assert.are.equal("%2B1555%26x%3Dy%25%2F%3F%23%7E%0A", form.component("+1555&x=y%/?#~\n"))
    assert.are.equal("Cl%C3%ADnica+%E2%80%93", form.component("Clínica –"))
  end)

  it("encodes fields in order and leaves out nil values", function()
    assert.are.equal("To=%2B15555550123&Body=a+b", form.encode({ { "To", "+15555550123" }, { "From", nil }, { "Body", "a b" } }))
    assert.are.equal("", form.encode({}))
  end)

  it("encodes a query component with %20 for a space and ~ kept", function()
    assert.are.equal("36996%3Aconfirmation%20x~y%2B", form.query_component("36996:confirmation x~y+"))
  end)

  it("round-trips through a decoder that reads + as a space", function()
    local text = "Northside Clinic - North: 9:15 AM, 100% sure? é"
    local decoded = form.component(text):gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    assert.are.equal(text, decoded)
  end)
end)

describe("masking", function()
  local plugin = require("plugin")

  it("masks phone numbers in provider text to their last four digits", function()
    assert.are.equal("The 'To' number ***0123 is not valid", plugin._mask_text("The 'To' number +15555550123 is not valid"))
    assert.are.equal("call ***0100 now", plugin._mask_text("call (555) 555-0100 now"))
  end)

  it("leaves short numbers (codes, counts) alone", function()
    assert.are.equal("error 21610 after 3 tries", plugin._mask_text("error 21610 after 3 tries"))
  end)
end)
