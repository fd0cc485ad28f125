local form = require("lib.form")

describe("form decoding", function()
  it("reads name=value pairs, '+' as a space and %XX as bytes", function()
    assert.are.same({ Body = "Stop it & go", To = "+15555550100", Empty = "", Bare = "" },
      form.decode("Body=Stop+it+%26+go&To=%2B15555550100&Empty=&Bare"))
  end)

  it("decodes UTF-8 escapes and lower-case hex", function()
    assert.are.same({ Body = "Clínica ok" }, form.decode("Body=Cl%c3%adnica%20ok"))
  end)

  it("keeps a literal '=' inside a value", function()
    assert.are.same({ ref = "a=b" }, form.decode("ref=a%3Db"))
    assert.are.same({ ref = "a=b" }, form.decode("ref=a=b"))
  end)

  it("ignores one line end after the body", function()
    assert.are.same({ A = "1", B = "2" }, form.decode("A=1&B=2\r\n"))
    assert.are.same({ B = "2\n" }, form.decode("B=2%0A\n"))
  end)

  it("skips empty pairs (a trailing &)", function()
    assert.are.same({ A = "1", B = "2" }, form.decode("A=1&&B=2&"))
  end)

  it("names the field with a bad escape", function()
    assert.has_error(function() form.decode("To=%2B1555&Body=100%+sure") end, "form field 2 (Body): \"%+\" is not a percent-escape (%XX)")
    assert.has_error(function() form.decode("Body=abc%4") end, "form field 1 (Body): \"%4\" is not a percent-escape (%XX)")
    assert.has_error(function() form.decode("Body=%G1") end, "form field 1 (Body): \"%G\" is not a percent-escape (%XX)")
    assert.has_error(function() form.decode("Bo%ZZdy=1") end, "form field 1 (name): \"%Z\" is not a percent-escape (%XX)")
  end)

  it("names a field that does not decode to UTF-8", function()
    assert.has_error(function() form.decode("A=1&Body=%FF%FE") end, "form field 2 (Body): not valid UTF-8 once decoded")
  end)

  it("refuses a field given twice, a nameless field and an empty body", function()
    assert.has_error(function() form.decode("MessageStatus=sent&MessageStatus=failed") end, "form field 2 (MessageStatus): given twice")
    assert.has_error(function() form.decode("=x") end, "form field 1: has no name")
    assert.has_error(function() form.decode("") end, "form: the body is empty (expected name=value&… fields)")
    assert.has_error(function() form.decode("&&") end, "form: the body has no fields")
  end)
end)
