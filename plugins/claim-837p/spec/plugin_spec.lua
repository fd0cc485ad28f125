local plugin = require("plugin")
local json = require("json")
local x12 = require("x12")

describe("claim-837p", function()
  local event

  before_each(function()
    event = fixture_json("fixtures/service-completed.json")
  end)

  local function claim(ctx) return plugin.map(event, ctx or {}) end

  -- The interchange through the host's strict parser; a parse error fails the test with its message.
  local function parsed(ctx)
    local result = claim(ctx)
    local ix, err = x12.parse(result.interchange)
    assert.is_nil(err)
    assert.is_table(ix)
    return ix, result
  end

  local function segments(ix) return ix.groups[1].transactions[1].segments end

  local function all(ix, id, qualifier)
    local found = {}
    for _, s in ipairs(segments(ix)) do
      if s.id == id and (qualifier == nil or s.values[1] == qualifier) then found[#found + 1] = s end
    end
    return found
  end

  local function first(ix, id, qualifier) return all(ix, id, qualifier)[1] end

  local function ids(ix)
    local list = {}
    for i, s in ipairs(segments(ix)) do list[i] = s.id .. (s.id == "NM1" and ("*" .. s.values[1]) or "") end
    return list
  end

  local function refuses(message, ctx)
    assert.has_error(function() plugin.map(event, ctx or {}) end, message)
  end

  describe("the interchange", function()
    it("parses as X12 5010 with our separators, one group of one 837 transaction", function()
      local ix = parsed()
      assert.are.same({ element = "*", component = ":", repetition = "^", segment = "~" }, ix.separators)
      assert.are.same({ "NSCLINICS", "CLEARINGHOUSE", "T" }, { ix.sender, ix.receiver, ix.usage })
      assert.are.equal(1, #ix.groups)
      assert.are.same({ "HC", "005010X222A1" }, { ix.groups[1].code, ix.groups[1].version })
      assert.are.equal(1, #ix.groups[1].transactions)
      assert.are.same({ "837", "0001" }, { ix.groups[1].transactions[1].code, ix.groups[1].transactions[1].control })
    end)

    it("returns the claim id and payer for the connector", function()
      local result = claim()
      assert.are.same({ "svc-1001", "payer-acme" }, { result.claim_id, result.payer })
    end)

    it("has the 837P loops in order", function()
      assert.are.same({
        "ST", "BHT", "NM1*41", "PER", "NM1*40",
        "HL", "PRV", "NM1*85", "N3", "N4", "REF",
        "HL", "SBR", "NM1*IL", "NM1*PR",
        "CLM", "HI", "LX", "SV1", "DTP", "LX", "SV1", "DTP", "LX", "SV1", "DTP",
        "SE",
      }, ids(parsed()))
    end)

    it("starts with a 106-character ISA and ends each segment with ~, no line breaks", function()
      local text = claim().interchange
      assert.are.equal("~", text:sub(106, 106))
      assert.are.equal(":", text:sub(105, 105))
      assert.is_nil(text:find("\n", 1, true))
      assert.are.equal("~", text:sub(-1))
    end)

    it("names the implementation guide in ST03 and GS08", function()
      local ix = parsed()
      assert.are.same({ "837", "0001", "005010X222A1" }, first(ix, "ST").values)
    end)

    it("has the right counts in SE01, GE01 and IEA01", function()
      local text = claim().interchange
      local ix = parsed()
      assert.are.same({ tostring(#segments(ix)), "0001" }, first(ix, "SE").values)
      assert.is_truthy(text:find("~GE%*1%*" .. ix.groups[1].control .. "~IEA%*1%*" .. ix.control .. "~$"))
    end)

    it("is refused by the parser when a count is off (the check above can fail)", function()
      local text = claim().interchange:gsub("SE%*27%*", "SE*26*")
      local ix, err = x12.parse(text)
      assert.is_nil(ix)
      assert.matches("SE01", err)
    end)

    it("leaves out trailing empty elements", function()
      local text = claim().interchange
      assert.is_truthy(text:find("~HI*ABK:E119~", 1, true))
      assert.is_truthy(text:find("~SV1*HC:99213*125*UN*1***1~", 1, true))
      assert.is_nil(text:find("*~", 1, true))
    end)
  end)

  describe("control numbers", function()
    it("derive from the service id, so a redelivery produces the same interchange", function()
      local again = plugin.map(fixture_json("fixtures/service-completed.json"), {})
      assert.are.equal(claim().interchange, again.interchange)
    end)

    it("are nine digits in ISA13 and IEA02, the same number in GS06 and GE02", function()
      local ix = parsed()
      local n = plugin._control_number("svc-1001")
      assert.are.equal(("%09d"):format(n), ix.control)
      assert.matches("^%d%d%d%d%d%d%d%d%d$", ix.control)
      assert.are.equal(tostring(n), ix.groups[1].control)
    end)

    it("differ between services", function()
      local a = parsed().control
      event.service.id = "svc-1002"
      assert.are_not.equal(a, parsed().control)
      assert.are_not.equal(plugin._control_number("svc-1001"), plugin._control_number("svc-1002"))
    end)

    it("are dated on the service", function()
      local text = claim().interchange
      assert.are.equal("261120", text:sub(71, 76))
      assert.are.same({ "0019", "00", "svc-1001", "20261120", "0000", "CH" }, first(parsed(), "BHT").values)
    end)
  end)

  describe("the claim", function()
    it("is CLM01 = service id, CLM02 = total charge, office place of service, original claim", function()
      local clm = first(parsed(), "CLM")
      assert.are.same({ "svc-1001", "229" }, { clm.values[1], clm.values[2] })
      assert.are.same({ { "11", "B", "1" } }, clm.elements[5])
      assert.are.same({ "Y", "A", "Y", "Y" }, { clm.values[6], clm.values[7], clm.values[8], clm.values[9] })
    end)

    it("has one SV1 per line: HC:code, charge, UN, quantity, each dated DTP*472", function()
      local ix = parsed()
      local sv1 = all(ix, "SV1")
      assert.are.equal(3, #sv1)
      assert.are.same({ { "HC", "99213" } }, sv1[1].elements[1])
      assert.are.same({ "125", "UN", "1" }, { sv1[1].values[2], sv1[1].values[3], sv1[1].values[4] })
      assert.are.same({ { "HC", "36415" } }, sv1[2].elements[1])
      assert.are.same({ "18.5", "UN", "1" }, { sv1[2].values[2], sv1[2].values[3], sv1[2].values[4] })
      assert.are.same({ "85.5", "UN", "2" }, { sv1[3].values[2], sv1[3].values[3], sv1[3].values[4] })
      for _, dtp in ipairs(all(ix, "DTP")) do assert.are.same({ "472", "D8", "20261120" }, dtp.values) end
      local lx = all(ix, "LX")
      assert.are.same({ "1", "2", "3" }, { lx[1].values[1], lx[2].values[1], lx[3].values[1] })
    end)

    it("charges CLM02 as the sum of the line charges, in cents", function()
      event.lines = { { code = "36415", quantity = 1, unit_price = 0.1 }, { code = "36415", quantity = 1, unit_price = 0.1 },
                      { code = "36415", quantity = 1, unit_price = 0.1 } }
      assert.are.equal("0.3", first(parsed(), "CLM").values[2])
    end)

    it("writes a fractional quantity and rounds its charge to the cent", function()
      event.lines = { { code = "97110", quantity = 1.5, unit_price = 33.33 } }
      local ix = parsed()
      assert.are.same({ "50", "UN", "1.5" }, { first(ix, "SV1").values[2], first(ix, "SV1").values[3], first(ix, "SV1").values[4] })
      assert.are.equal("50", first(ix, "CLM").values[2])
    end)

    it("has the billing provider, subscriber and payer", function()
      local ix = parsed()
      assert.are.same({ "85", "2", "NORTHSIDE CLINICS", "", "", "", "", "XX", "1548293012" }, first(ix, "NM1", "85").values)
      assert.are.same({ "EI", "123456789" }, first(ix, "REF").values)
      assert.are.same({ "IL", "1", "OKAFOR", "MARIA", "", "", "", "MI", "XJH884120937" }, first(ix, "NM1", "IL").values)
      assert.are.same({ "PR", "2", "ACME HEALTH", "", "", "", "", "PI", "payer-acme" }, first(ix, "NM1", "PR").values)
      assert.are.same({ "P", "18", "", "", "", "", "", "", "CI" }, first(ix, "SBR").values)
    end)

    it("nests the subscriber under the billing provider", function()
      local hl = all(parsed(), "HL")
      assert.are.same({ "1", "", "20", "1" }, hl[1].values)
      assert.are.same({ "2", "1", "22", "0" }, hl[2].values)
    end)

    it("sends nothing the claim does not need: no e-mail, no MRN", function()
      local text = claim().interchange
      assert.is_nil(text:find("example.org", 1, true))
      assert.is_nil(text:find("MRN-0047711", 1, true))
    end)

    it("writes diagnoses in HI and points every line at the first", function()
      event.diagnoses = { "E11.9", "I10" }
      local ix = parsed()
      assert.are.same({ { { "ABK", "E119" } }, { { "ABF", "I10" } } }, first(ix, "HI").elements)
      for _, sv1 in ipairs(all(ix, "SV1")) do assert.are.equal("1", sv1.values[7]) end
      assert.are.equal("HI", segments(ix)[17].id)
    end)

    it("writes the subscriber's address and demographics when the event carries them", function()
      event.patient.birth_date = "1984-03-17"
      event.patient.sex = "F"
      event.patient.address = { line = "88 Alder Court", city = "Fort Collins", state = "CO", postal_code = "80521" }
      local ix = parsed()
      local list = ids(ix)
      assert.are.same({ "NM1*IL", "N3", "N4", "DMG", "NM1*PR" }, { list[14], list[15], list[16], list[17], list[18] })
      assert.are.same({ "D8", "19840317", "F" }, first(ix, "DMG").values)
      assert.are.same({ "88 ALDER COURT" }, all(ix, "N3")[2].values)
      assert.are.same({ "FORT COLLINS", "CO", "80521" }, all(ix, "N4")[2].values)
    end)
  end)

  describe("self-pay", function()
    it("is skipped: there is no one to claim from", function()
      event.payer = nil
      assert.are.same({ skip = "self-pay: no claim" }, claim())
      event.payer = json.null
      assert.are.same({ skip = "self-pay: no claim" }, claim())
    end)
  end)

  describe("settings", function()
    it("come from values/submitter.json", function()
      assert.are.equal("values/submitter.json", plugin.SETTINGS)
      local settings = json.decode(fixture("values/submitter.json"))
      assert.are.equal(settings.billing_provider.npi, first(parsed(), "NM1", "85").values[9])
    end)

    it("can be replaced section by section from the catalog entry's config", function()
      local ctx = { config = {
        usage = "P",
        billing_provider = { name = "Northside Clinics East", npi = "1765432103", tax_id = "987654321", taxonomy = "207Q00000X",
                             address = "4 Mill Rd", city = "Loveland", state = "CO", zip = "805370000" },
      } }
      local ix = parsed(ctx)
      assert.are.equal("P", ix.usage)
      assert.are.same({ "85", "2", "NORTHSIDE CLINICS EAST", "", "", "", "", "XX", "1765432103" }, first(ix, "NM1", "85").values)
      assert.are.same({ "NSCLINICS", "CLEARINGHOUSE" }, { ix.sender, ix.receiver })
    end)

    it("check the NPI's check digit", function()
      assert.is_true(plugin._npi_valid("1548293012"))
      assert.is_true(plugin._npi_valid("1234567893"))
      assert.is_false(plugin._npi_valid("1548293013"))
      assert.is_false(plugin._npi_valid("154829301"))
    end)

    it("are refused, naming where they came from", function()
      refuses('ctx.config.usage: "X" is not P (production) or T (test)', { config = { usage = "X" } })
      local provider = json.decode(fixture("values/submitter.json")).billing_provider
      provider.npi = "1548293013"
      refuses('ctx.config.billing_provider.npi: "1548293013" fails the NPI check digit', { config = { billing_provider = provider } })
      provider.npi, provider.zip = "1548293012", "80521"
      refuses('ctx.config.billing_provider.zip: "80521" is not a 9-digit ZIP+4 (the billing provider\'s ZIP needs all nine)',
        { config = { billing_provider = provider } })
      refuses('ctx.config.submitter.id: "NORTHSIDECLINICS1" is longer than 15 characters (ISA06)',
        { config = { submitter = { id = "NORTHSIDECLINICS1", name = "N", contact = "B", phone = "9705550100" } } })
      refuses("ctx.config.receiver: expected an object, got the string \"CLEARINGHOUSE\"", { config = { receiver = "CLEARINGHOUSE" } })
    end)
  end)

  describe("formatting", function()
    it("writes amounts without trailing zeros", function()
      assert.are.same({ "250", "125.5", "125.05", "0.05", "0" },
        { plugin._amount(25000), plugin._amount(12550), plugin._amount(12505), plugin._amount(5), plugin._amount(0) })
    end)

    it("writes quantities without trailing zeros", function()
      assert.are.same({ "1", "1.5", "0.25", "12" },
        { plugin._quantity(1), plugin._quantity(1.5), plugin._quantity(0.25), plugin._quantity(12.0) })
    end)
  end)

  describe("refuses", function()
    it("other event types", function()
      event.type = "claim.submitted"
      refuses('$.type: expected a service.completed event, got the string "claim.submitted"')
    end)

    it("a service id longer than a patient control number", function()
      event.service.id = "svc-2026-11-20-north-000417"
      refuses('$.service.id: "svc-2026-11-20-north-000417" is longer than the 20 characters of a patient control number (CLM01)')
    end)

    it("values holding an X12 separator, naming the field and separator", function()
      event.service.id = "svc*1001"
      refuses([[$.service.id: "svc*1001" contains '*', the X12 element separator]])
      event.service.id = "svc-1001"
      event.patient.family_name = "Okafor~"
      refuses([[$.patient.family_name: "Okafor~" contains '~', the X12 segment separator]])
      event.patient.family_name = "Okafor"
      event.payer.member_id = "XJH:884"
      refuses([[$.payer.member_id: "XJH:884" contains ':', the X12 component separator]])
      event.payer.member_id = "XJH884"
      event.payer.name = "Acme ^ Health"
      refuses([[$.payer.name: "Acme ^ Health" contains '^', the X12 repetition separator]])
    end)

    it("characters outside the X12 character set", function()
      event.patient.family_name = "Müller"
      refuses('$.patient.family_name: "Müller" has a character outside the X12 character set (printable ASCII)')
    end)

    it("a service date that is not a date", function()
      event.service.date = "20261120"
      refuses('$.service.date: "20261120" is not a calendar date YYYY-MM-DD')
    end)

    it("a payer without member id or name", function()
      event.payer.member_id = nil
      refuses("$.payer.member_id: expected a non-empty string, got missing")
      event.payer.member_id = "XJH884120937"
      event.payer.name = ""
      refuses('$.payer.name: expected a non-empty string, got the string ""')
      event.payer = "payer-acme"
      refuses('$.payer: expected an object, got the string "payer-acme"')
    end)

    it("a patient without a name", function()
      event.patient.given_name = nil
      refuses("$.patient.given_name: expected a non-empty string, got missing")
    end)

    it("a code that is not a 5-character CPT/HCPCS code", function()
      event.lines[2].code = "3641"
      refuses('$.lines[2].code: "3641" is not a 5-character CPT/HCPCS code')
    end)

    it("a zero or negative quantity or price, naming the line", function()
      event.lines[3].quantity = 0
      refuses("line 3: quantity must be a number greater than zero, got a number (0) ($.lines[3].quantity)")
      event.lines[3].quantity = 1
      event.lines[1].unit_price = -125.0
      refuses("line 1: unit_price must be a number greater than zero, got a number (-125.0) ($.lines[1].unit_price)")
      event.lines[1].unit_price = 125.001
      refuses("line 1: unit_price 125.001 is not a whole number of cents ($.lines[1].unit_price)")
    end)

    it("no lines", function()
      event.lines = json.array({})
      refuses("$.lines: expected a non-empty array of service lines, got an empty array")
    end)

    it("a claim without a diagnosis: HI is required", function()
      local message = "$.diagnoses: a professional claim needs at least one ICD-10-CM diagnosis (HI in loop 2300, "
        .. "required by 005010X222A1); the event has none"
      event.diagnoses = nil
      refuses(message)
      event.diagnoses = {}
      refuses(message)
    end)

    it("diagnoses that are not ICD-10-CM codes, or too many", function()
      event.diagnoses = { "E11.9", "250.00" }
      refuses('$.diagnoses[2]: "250.00" is not an ICD-10-CM code like E11.9')
      event.diagnoses = { "E11.9", "I10", "Z00.00", "R07.89", "M54.5", "J06.9", "E78.5", "K21.9", "F41.1", "G43.909", "N39.0", "L30.9", "H10.9" }
      refuses("$.diagnoses: 13 codes; a professional claim carries at most 12")
      event.diagnoses = "E11.9"
      refuses('$.diagnoses: expected an array of ICD-10-CM codes, got the string "E11.9"')
    end)

    it("a sex code other than F, M or U, and an address without a ZIP", function()
      event.patient.birth_date = "1984-03-17"
      event.patient.sex = "female"
      refuses('$.patient.sex: "female" is not F, M or U')
      event.patient.sex = "F"
      event.patient.address = { line = "88 Alder Court", city = "Fort Collins", state = "CO" }
      refuses("$.patient.address.postal_code: expected a non-empty string, got missing")
    end)
  end)
end)
