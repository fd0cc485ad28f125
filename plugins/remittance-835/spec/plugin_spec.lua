local plugin = require("plugin")
local json = require("json")

-- Segment positions in fixtures/northside-remit-1.835 (ISA is 1):
--   ISA 1, GS 2, ST 3, BPR 4, TRN 5, DTM 6, N1*PR 7, N3 8, N4 9, REF 10, PER 11, N1*PE 12, REF 13, LX 14,
--   CLP svc-1001 15, NM1 16, DTM 17, SVC 99213 18, DTM 19, CAS 20, CAS 21, SVC 36415 22, DTM 23, CAS 24,
--   SVC 85025 25, DTM 26, CAS 27, CLP svc-1002 28, NM1 29, SVC 30, DTM 31, SE 32, GE 33, IEA 34.

local function decode(text) return plugin.decode(text, {}) end

-- Replaces one exact piece of a fixture; fails the test when the piece is not there exactly once, so a test cannot
-- pass by editing nothing.
local function replace(text, old, new)
  local first = text:find(old, 1, true)
  assert(first, "fixture does not contain " .. old)
  assert(text:find(old, first + 1, true) == nil, "fixture contains " .. old .. " more than once")
  return text:sub(1, first - 1) .. new .. text:sub(first + #old)
end

-- Recomputes each SE01 after a test added or removed segments, so the test reaches the 835's meaning rather than the
-- envelope's count check (which has its own tests).
local function recount(text)
  local out, count = {}, 0
  for segment in text:gmatch("([^~]*)~") do
    segment = segment:gsub("^%s+", "")
    local id = segment:match("^(%w+)")
    if id == "ST" then count = 0 end
    count = count + 1
    if id == "SE" then segment = segment:gsub("^SE%*%d+", "SE*" .. count) end
    out[#out + 1] = segment
  end
  return table.concat(out, "~\n") .. "~\n"
end

local function edit(text, old, new) return recount(replace(text, old, new)) end

describe("remittance-835", function()
  local remit1, remit2

  before_each(function()
    remit1 = fixture("fixtures/northside-remit-1.835")
    remit2 = fixture("fixtures/northside-remit-2.835")
  end)

  context("a remittance for svc-1001 and svc-1002", function()
    it("becomes one claim.adjudicated event per claim, keyed by trace number and claim", function()
      local events = decode(remit1)
      assert.are.equal(2, #events)
      assert.are.equal("835:EFT20261205A1/svc-1001", events[1].idempotency_key)
      assert.are.equal("835:EFT20261205A1/svc-1002", events[2].idempotency_key)
    end)

    it("carries the claim's money, status, payer, payment and lines", function()
      assert.are.same({
        type = "claim.adjudicated",
        idempotency_key = "835:EFT20261205A1/svc-1001",
        claim = {
          id = "svc-1001",
          service_id = "svc-1001",
          status = "partial",
          status_code = "1",
          charged = 206.25,
          paid = 150.4,
          patient_responsibility = 25.0,
          payer = { name = "HARBOR MUTUAL HEALTH", claim_control = "HM2026120500017" },
          payee = { name = "NORTHSIDE CLINICS", id_qualifier = "XX", id = "1234567893" },
          payment = { date = "2026-12-05", trace = "EFT20261205A1", method = "ACH" },
          adjustments = {},
          lines = {
            {
              qualifier = "HC", code = "99213", modifiers = { "25" }, charged = 145.0, paid = 96.0, units = 1,
              adjustments = { { group = "CO", reason = "45", amount = 24.0 }, { group = "PR", reason = "3", amount = 25.0 } },
            },
            {
              qualifier = "HC", code = "36415", modifiers = {}, charged = 18.5, paid = 16.0, units = 1,
              adjustments = { { group = "CO", reason = "45", amount = 2.5 } },
            },
            {
              qualifier = "HC", code = "85025", modifiers = {}, charged = 42.75, paid = 38.4, units = 1,
              adjustments = { { group = "CO", reason = "45", amount = 4.35 } },
            },
          },
        },
      }, decode(remit1)[1])
    end)

    it("calls a claim paid in full 'paid'", function()
      local claim = decode(remit1)[2].claim
      assert.are.equal("paid", claim.status)
      assert.are.equal(171.0, claim.paid)
      assert.are.equal(0.0, claim.patient_responsibility)
    end)

    it("encodes amounts as numbers in dollars and empty lists as []", function()
      local encoded = json.encode(decode(remit1))
      assert.matches('"paid":150%.4,', encoded)
      assert.matches('"charged":206%.25,', encoded)
      assert.matches('^%[{"claim":{"adjustments":%[%],', encoded)
      assert.matches('"modifiers":%[%]', encoded)
    end)

    it("leaves the patient's name, member id and dates of service behind", function()
      local encoded = json.encode(decode(remit1))
      for _, leaked in ipairs({ "OKAFOR", "MARIA", "XJH884120937", "HALVORSEN", "XJH771203348", "2026-11-21", "20261121" }) do
        assert.is_nil(encoded:find(leaked, 1, true), "leaked " .. leaked)
      end
    end)

    it("reads the interchange without line breaks just the same", function()
      assert.are.same(decode(remit1), decode((remit1:gsub("\n", ""))))
    end)

    it("reads units of service when SVC05 gives them", function()
      local events = decode(edit(remit1, "SVC*HC:36415*18.50*16.00**1~", "SVC*HC:36415*18.50*16.00**2~"))
      assert.are.equal(2, events[1].claim.lines[2].units)
    end)

    it("accepts amounts without decimals and with trailing zeros", function()
      local events = decode(edit(edit(remit1, "CLP*svc-1002*1*171.00*171.00*0*", "CLP*svc-1002*1*171*171.000*0*"),
        "SVC*HC:99214*171.00*171.00**1~", "SVC*HC:99214*171*171.0**1~"))
      assert.are.equal(171.0, events[2].claim.paid)
    end)

    it("reads several transaction sets in one interchange", function()
      local body1 = remit1:match("(ST%*835%*0001~.-SE%*30%*0001~)")
      local body2 = replace(remit2:match("(ST%*835%*0001~.-SE%*23%*0001~)"), "ST*835*0001~", "ST*835*0002~")
      body2 = replace(body2, "SE*23*0001~", "SE*23*0002~")
      local text = remit1:match("^(.-GS[^~]*~)") .. "\n" .. body1 .. "\n" .. body2 .. "\nGE*2*4711~\nIEA*1*000004711~\n"
      local events = decode(text)
      assert.are.equal(6, #events)
      assert.are.equal("835:EFT20261205A1/svc-1001", events[1].idempotency_key)
      assert.are.equal("835:CHK40017/svc-1004", events[6].idempotency_key)
      assert.are.equal("CHK", events[6].claim.payment.method)
    end)
  end)

  context("a remittance with a reversal, a correction, a denial and provider adjustments", function()
    it("gives each claim its status", function()
      local statuses = {}
      for i, event in ipairs(decode(remit2)) do statuses[i] = event.claim.id .. " " .. event.claim.status end
      assert.are.same({ "svc-1002 reversed", "svc-1002 partial", "svc-1003 denied", "svc-1004 partial" }, statuses)
    end)

    it("keys a claim that appears twice (reversal and correction) apart", function()
      local keys = {}
      for i, event in ipairs(decode(remit2)) do keys[i] = event.idempotency_key end
      assert.are.same({ "835:CHK40017/svc-1002", "835:CHK40017/svc-1002#2", "835:CHK40017/svc-1003", "835:CHK40017/svc-1004" }, keys)
    end)

    it("keeps a reversal's negative amounts", function()
      local claim = decode(remit2)[1].claim
      assert.are.equal("22", claim.status_code)
      assert.are.equal(-171.0, claim.charged)
      assert.are.equal(-171.0, claim.paid)
      assert.are.equal(-171.0, claim.lines[1].paid)
    end)

    it("puts claim-level adjustments on the claim and line-level ones on the line", function()
      local events = decode(remit2)
      assert.are.same({ { group = "CO", reason = "50", amount = 95.0 } }, events[3].claim.adjustments)
      assert.are.same({}, events[3].claim.lines)
      assert.are.same({}, events[2].claim.adjustments)
      assert.are.same({ { group = "CO", reason = "45", amount = 34.2 } }, events[2].claim.lines[1].adjustments)
    end)

    it("reads every triplet of a CAS", function()
      assert.are.same({
        { group = "CO", reason = "45", amount = 15.0 },
        { group = "CO", reason = "253", amount = 5.0 },
        { group = "PR", reason = "2", amount = 10.0 },
      }, decode(remit2)[4].claim.lines[1].adjustments)
    end)

    it("reads a CAS quantity", function()
      local events = decode(edit(remit2, "CAS*CO*45*15.00**253*5.00~", "CAS*CO*45*15.00*1*253*5.00~"))
      assert.are.same({ group = "CO", reason = "45", amount = 15.0, quantity = 1 }, events[4].claim.lines[1].adjustments[1])
    end)

    it("takes a secondary payer's payment (status 2) as partial, and the check as the method", function()
      local claim = decode(remit2)[4].claim
      assert.are.equal("2", claim.status_code)
      assert.are.equal("partial", claim.status)
      assert.are.same({ date = "2026-12-12", trace = "CHK40017", method = "CHK" }, claim.payment)
      assert.are.equal(10.0, claim.patient_responsibility)
    end)

    it("balances BPR02 against the claims' payments minus the PLB adjustments", function()
      -- 185.80 paid on claims − (−2.15 interest + 10.00 recovery) = 177.95
      assert.are.equal(4, #decode(remit2))
      assert.has_error(function() decode(replace(remit2, "BPR*I*177.95*", "BPR*I*185.80*")) end,
        "segment 4 (BPR) element BPR02: total paid 185.80 does not equal the claims' payments (CLP04) 185.80 "
          .. "minus provider adjustments (PLB) 7.85 = 177.95")
    end)

    it("reads a debit (BPR03 D) as money taken back", function()
      local text = table.concat({
        "ISA*00*          *00*          *ZZ*HARBORMUTUAL   *ZZ*NORTHSIDECLN   *261212*1405*^*00501*000004791*0*P*:~",
        "GS*HP*HARBORMUTUAL*NORTHSIDECLN*20261212*1405*4791*X*005010X221A1~",
        "ST*835*0001~",
        "BPR*I*171.00*D*NON************20261212~",
        "TRN*1*RV40018*1512345678~",
        "N1*PR*HARBOR MUTUAL HEALTH~",
        "N1*PE*NORTHSIDE CLINICS~",
        "LX*1~",
        "CLP*svc-1002*22*-171.00*-171.00*0*12*HM2026120500018~",
        "SE*8*0001~",
        "GE*1*4791~",
        "IEA*1*000004791~",
      }, "\n")
      local events = decode(text)
      assert.are.equal("reversed", events[1].claim.status)
      assert.are.same({ name = "NORTHSIDE CLINICS" }, events[1].claim.payee)
      assert.has_error(function() decode(replace(text, "*D*NON*", "*C*NON*")) end,
        "segment 4 (BPR) element BPR02: total paid 171.00 does not equal the claims' payments (CLP04) -171.00 "
          .. "minus provider adjustments (PLB) 0.00 = -171.00")
    end)
  end)

  context("the published sample (LinuxForHealth managed-care.835)", function()
    it("is refused as published: its BPR16 payment date 20002316 is no date", function()
      assert.has_error(function() decode(fixture("fixtures/lfh_managed-care.835")) end,
        "segment 4 (BPR) element BPR16: '20002316' is not a date (CCYYMMDD)")
    end)

    it("with the date corrected, gives two partially paid claims that balance to 945.00", function()
      local text = replace(fixture("fixtures/lfh_managed-care.835"), "*20002316~", "*20020316~")
      local events = decode(text)
      assert.are.equal(2, #events)
      local first, second = events[1].claim, events[2].claim
      assert.are.equal("835:7170066655/5554555444", events[1].idempotency_key)
      assert.are.equal("835:7170066655/8765432112", events[2].idempotency_key)
      assert.are.same({ "partial", 800.0, 450.0, 300.0, "94060555410000" },
        { first.status, first.charged, first.paid, first.patient_responsibility, first.payer.claim_control })
      assert.are.same({ "partial", 1200.0, 495.0, 600.0 }, { second.status, second.charged, second.paid, second.patient_responsibility })
      assert.are.equal("RUSHMORE LIFE", first.payer.name)
      assert.are.same({ name = "ACME MEDICAL CENTER", id_qualifier = "XX", id = "5544667733" }, first.payee)
      assert.are.same({ date = "2002-03-16", trace = "7170066655", method = "ACH" }, first.payment)
      assert.are.same({ { group = "CO", reason = "A2", amount = 50.0 } }, first.adjustments)
      assert.are.same({
        { qualifier = "HC", code = "99211", modifiers = {}, charged = 800.0, paid = 500.0, units = 1,
          adjustments = { { group = "PR", reason = "1", amount = 300.0 } } },
      }, first.lines)
      assert.are.same({ { group = "PR", reason = "1", amount = 600.0 }, { group = "CO", reason = "45", amount = 50.0 } },
        second.lines[1].adjustments)
      for _, leaked in ipairs({ "BUDD", "WILLIAM", "33344555510", "SETTLE", "SUSAN" }) do
        assert.is_nil(json.encode(events):find(leaked, 1, true), "leaked " .. leaked)
      end
    end)
  end)

  context("a test interchange (ISA15 = T)", function()
    local function as_test(text) return replace(text, "*0*P*:~", "*0*T*:~") end

    it("is refused on a production server, naming ISA15", function()
      assert.has_error(function() plugin.decode(as_test(remit1), { env = "production" }) end,
        "segment 1 (ISA) element ISA15: 'T' marks a test interchange; a production server books only P (production) "
        .. "remittances — the sender's test data reached the production endpoint")
    end)

    it("is read on dev and staging, where partners test", function()
      for _, env in ipairs({ "dev", "staging" }) do
        assert.are.same(plugin.decode(remit1, { env = env }), plugin.decode(as_test(remit1), { env = env }))
      end
    end)

    it("a production interchange is read on a production server", function()
      assert.are.equal(2, #plugin.decode(remit1, { env = "production" }))
    end)
  end)

  context("envelope errors from the host's parser", function()
    it("rejects an empty payload", function()
      assert.has_error(function() decode("") end, "empty payload: expected an X12 835 interchange")
      assert.has_error(function() decode(" \r\n") end, "empty payload: expected an X12 835 interchange")
    end)

    it("rejects text that is not X12", function()
      assert.has_error(function() decode('{"type":"claim.adjudicated"}') end,
        "not a valid X12 interchange: segment 1 (ISA): an interchange starts with a 106-character ISA segment")
    end)

    it("rejects a transaction set whose SE01 count is wrong", function()
      assert.has_error(function() decode(fixture("fixtures/malformed-se-count.835")) end,
        "not a valid X12 interchange: segment 32 (SE) element SE01: SE01 says 31 segments; the transaction set has 30 (ST through SE)")
    end)

    it("rejects a truncated interchange", function()
      assert.has_error(function() decode(fixture("fixtures/truncated.835")) end,
        "not a valid X12 interchange: segment 20 (CAS): the last segment is not terminated by '~'")
    end)

    it("rejects a group count that is wrong", function()
      assert.error_matches(function() decode(replace(remit1, "GE*1*4711~", "GE*2*4711~")) end,
        "^not a valid X12 interchange: segment 33 %(GE%) element GE01: ")
    end)
  end)

  context("the 835's own rules", function()
    it("names a non-numeric amount", function()
      assert.has_error(function() decode(fixture("fixtures/malformed-amount.835")) end,
        "segment 15 (CLP) element CLP04: '15O.40' is not an amount")
    end)

    it("refuses a remittance whose total does not balance", function()
      assert.has_error(function() decode(fixture("fixtures/malformed-unbalanced.835")) end,
        "segment 4 (BPR) element BPR02: total paid 321.04 does not equal the claims' payments (CLP04) 321.40 "
          .. "minus provider adjustments (PLB) 0.00 = 321.40")
    end)

    it("needs an HP group of the 835 implementation guide", function()
      assert.has_error(function() decode(replace(remit1, "GS*HP*", "GS*HC*")) end,
        "segment 2 (GS) element GS01: expected HP (health care claim payment/advice), found 'HC'")
      assert.has_error(function() decode(replace(remit1, "*X*005010X221A1~", "*X*005010X222A1~")) end,
        "segment 2 (GS) element GS08: expected 005010X221A1 (the 835's 5010 implementation guide), found '005010X222A1'")
    end)

    it("names the GS of a later group", function()
      local group2 = remit2:match("(GS%*.-GE%*1%*4790~)")
      local text = replace(remit1, "GE*1*4711~\n", "GE*1*4711~\n" .. replace(group2, "005010X221A1", "004010X091A1") .. "\n")
      text = replace(text, "IEA*1*", "IEA*2*")
      -- group 1: GS 2 … GE 33; group 2 starts at 34
      assert.has_error(function() decode(text) end,
        "segment 34 (GS) element GS08: expected 005010X221A1 (the 835's 5010 implementation guide), found '004010X091A1'")
    end)

    it("needs an 835 transaction set", function()
      assert.has_error(function() decode(replace(remit1, "ST*835*", "ST*837*")) end,
        "segment 3 (ST) element ST01: expected an 835 remittance advice, found transaction set '837'")
    end)

    context("BPR", function()
      it("must follow ST", function()
        local text = edit(remit1, "BPR*I*321.40*", "DTM*405*20261204~\nBPR*I*321.40*")
        assert.has_error(function() decode(text) end, "segment 4 (DTM): expected BPR (financial information) right after ST")
      end)

      it("names each bad element", function()
        local cases = {
          { "BPR*I*321.40*C*ACH*", "BPR*Q*321.40*C*ACH*",
            "segment 4 (BPR) element BPR01: 'Q' is not a transaction handling code (C, D, H, I, P, U, X)" },
          { "BPR*I*321.40*C*ACH*", "BPR**321.40*C*ACH*", "segment 4 (BPR) element BPR01: missing (transaction handling code)" },
          { "BPR*I*321.40*C*ACH*", "BPR*I*3,21.40*C*ACH*", "segment 4 (BPR) element BPR02: '3,21.40' is not an amount" },
          { "BPR*I*321.40*C*ACH*", "BPR*I**C*ACH*", "segment 4 (BPR) element BPR02: missing (total actual provider payment amount)" },
          { "BPR*I*321.40*C*ACH*", "BPR*I*321.40*X*ACH*", "segment 4 (BPR) element BPR03: 'X' is not a credit/debit flag (C, D)" },
          { "BPR*I*321.40*C*ACH*", "BPR*I*321.40*C*WIRE*",
            "segment 4 (BPR) element BPR04: 'WIRE' is not a payment method code (ACH, BOP, CHK, FWT, NON)" },
          { "*987654321*20261205~", "*987654321*20260230~", "segment 4 (BPR) element BPR16: '20260230' is not a date (CCYYMMDD)" },
          { "*987654321*20261205~", "*987654321*2026-12-05~", "segment 4 (BPR) element BPR16: '2026-12-05' is not a date (CCYYMMDD)" },
          { "*987654321*20261205~", "*987654321~", "segment 4 (BPR) element BPR16: missing (payment date)" },
        }
        for _, case in ipairs(cases) do
          assert.has_error(function() decode(replace(remit1, case[1], case[2])) end, case[3])
        end
      end)

      it("accepts 29 February in a leap year", function()
        local events = decode(replace(remit1, "*987654321*20261205~", "*987654321*20280229~"))
        assert.are.equal("2028-02-29", events[1].claim.payment.date)
      end)

      it("refuses a second BPR", function()
        local text = edit(remit1, "LX*1~", "BPR*I*0*C*NON************20261205~\nLX*1~")
        assert.has_error(function() decode(text) end, "segment 14 (BPR): a second BPR in transaction set 0001")
      end)
    end)

    context("TRN", function()
      it("must follow BPR", function()
        assert.has_error(function() decode(edit(remit1, "TRN*1*EFT20261205A1*1512345678~\n", "")) end,
          "segment 5 (DTM): expected TRN (reassociation trace number) right after BPR")
      end)

      it("names a bad trace", function()
        assert.has_error(function() decode(replace(remit1, "TRN*1*EFT20261205A1*", "TRN*1**")) end,
          "segment 5 (TRN) element TRN02: missing (check or EFT trace number)")
        assert.has_error(function() decode(replace(remit1, "TRN*1*EFT20261205A1*", "TRN*3*EFT20261205A1*")) end,
          "segment 5 (TRN) element TRN01: '3' is not 1 (current transaction trace numbers)")
      end)

      it("refuses a second TRN", function()
        assert.has_error(function() decode(edit(remit1, "DTM*405*20261204~", "TRN*1*EFT2*1512345678~")) end,
          "segment 6 (TRN): a second TRN in transaction set 0001")
      end)
    end)

    context("N1", function()
      it("needs the payer", function()
        assert.has_error(function() decode(edit(remit1, "N1*PR*HARBOR MUTUAL HEALTH~\n", "")) end,
          "segment 3 (ST): transaction set 0001 has no payer (N1*PR, loop 1000A)")
        assert.has_error(function() decode(replace(remit1, "N1*PR*HARBOR MUTUAL HEALTH~", "N1*PR~")) end,
          "segment 7 (N1) element N102: missing (payer name)")
      end)

      it("needs the payee", function()
        assert.has_error(function() decode(edit(remit1, "N1*PE*NORTHSIDE CLINICS*XX*1234567893~\n", "")) end,
          "segment 3 (ST): transaction set 0001 has no payee (N1*PE, loop 1000B)")
        assert.has_error(function() decode(replace(remit1, "N1*PE*NORTHSIDE CLINICS*XX*1234567893~", "N1*PE*NORTHSIDE CLINICS*XX~")) end,
          "segment 12 (N1) element N104: missing (payee identification code)")
      end)

      it("refuses a second payer", function()
        assert.has_error(function() decode(edit(remit1, "N3*400 HARBOR WAY~", "N1*PR*OTHER PAYER~")) end,
          "segment 8 (N1) element N101: a second payer (N1*PR)")
      end)

      it("refuses an N1 among the claims", function()
        assert.has_error(function() decode(edit(remit1, "DTM*232*20261121~", "N1*PE*SOMEONE ELSE~")) end,
          "segment 17 (N1): N1 belongs in the header (loops 1000A and 1000B), before the claims")
      end)
    end)

    context("CLP", function()
      it("names each bad element", function()
        local clp = "CLP*svc-1001*1*206.25*150.40*25.00*12*HM2026120500017~"
        local cases = {
          { "CLP**1*206.25*150.40*25.00*12*HM2026120500017~", "segment 15 (CLP) element CLP01: missing (patient control number)" },
          { "CLP*svc 1001*1*206.25*150.40*25.00*12*HM2026120500017~",
            "segment 15 (CLP) element CLP01: 'svc 1001' is not one of our service ids (letters, digits, '_', '-' and '.')" },
          { "CLP*svc-1001*7*206.25*150.40*25.00*12*HM2026120500017~",
            "segment 15 (CLP) element CLP02: '7' is not a claim status code (1, 2, 3, 4, 19, 20, 21, 22, 23, 25)" },
          { "CLP*svc-1001**206.25*150.40*25.00*12*HM2026120500017~", "segment 15 (CLP) element CLP02: missing (claim status code)" },
          { "CLP*svc-1001*1**150.40*25.00*12*HM2026120500017~", "segment 15 (CLP) element CLP03: missing (total claim charge amount)" },
          { "CLP*svc-1001*1*206.25*abc*25.00*12*HM2026120500017~", "segment 15 (CLP) element CLP04: 'abc' is not an amount" },
          { "CLP*svc-1001*1*206.25*150.405*25.00*12*HM2026120500017~",
            "segment 15 (CLP) element CLP04: '150.405' has fractions of a cent" },
          { "CLP*svc-1001*1*206.25*+150.40*25.00*12*HM2026120500017~", "segment 15 (CLP) element CLP04: '+150.40' is not an amount" },
          { "CLP*svc-1001*1*206.25*150.40*1E2*12*HM2026120500017~", "segment 15 (CLP) element CLP05: '1E2' is not an amount" },
          { "CLP*svc-1001*1*206.25*150.40*25.00*12~", "segment 15 (CLP) element CLP07: missing (payer claim control number)" },
          { "CLP*svc-1001*1*206.25*150.40*25.00*12*HM2026120500017~",
            "CLP*svc-1001*1*99999999999999.00*150.40*25.00*12*HM2026120500017~",
            "segment 15 (CLP) element CLP03: '99999999999999.00' is too large an amount" },
        }
        for _, case in ipairs(cases) do
          local old, new, message = clp, case[1], case[2]
          if case[3] then old, new, message = case[1], case[2], case[3] end
          assert.has_error(function() decode(replace(remit1, old, new)) end, message)
        end
      end)

      it("takes a missing patient responsibility as zero", function()
        local events = decode(replace(remit1, "CLP*svc-1002*1*171.00*171.00*0*", "CLP*svc-1002*1*171.00*171.00**"))
        assert.are.equal(0.0, events[2].claim.patient_responsibility)
      end)

      it("refuses a claim whose adjustments do not explain the difference", function()
        local text = edit(edit(remit1, "CAS*CO*45*4.35~", "CAS*CO*45*4.00~"), "SVC*HC:85025*42.75*38.40**1~", "SVC*HC:85025*42.75*38.75**1~")
        assert.has_error(function() decode(text) end,
          "segment 15 (CLP) element CLP04: claim svc-1001 paid 150.40, but its charge 206.25 minus its adjustments (CAS) 55.50 is 150.75")
      end)

      it("refuses a denial whose adjustment does not cover the charge", function()
        assert.has_error(function() decode(replace(remit2, "CAS*CO*50*95.00~", "CAS*CO*50*90.00~")) end,
          "segment 16 (CLP) element CLP04: claim svc-1003 paid 0.00, but its charge 95.00 minus its adjustments (CAS) 90.00 is 5.00")
      end)
    end)

    context("SVC", function()
      it("names each bad element", function()
        local cases = {
          { "SVC*HC:36415*18.50*16.00**1~", "SVC*HC*18.50*16.00**1~",
            "segment 22 (SVC) element SVC01: 'HC' has no procedure code (expected HC:CODE)" },
          { "SVC*HC:36415*18.50*16.00**1~", "SVC**18.50*16.00**1~",
            "segment 22 (SVC) element SVC01: missing (product/service id qualifier, like HC)" },
          { "SVC*HC:36415*18.50*16.00**1~", "SVC*HC:36415*18.5O*16.00**1~", "segment 22 (SVC) element SVC02: '18.5O' is not an amount" },
          { "SVC*HC:36415*18.50*16.00**1~", "SVC*HC:36415*18.50***1~",
            "segment 22 (SVC) element SVC03: missing (line item provider payment amount)" },
          { "SVC*HC:36415*18.50*16.00**1~", "SVC*HC:36415*18.50*16.00**one~", "segment 22 (SVC) element SVC05: 'one' is not a number" },
        }
        for _, case in ipairs(cases) do
          assert.has_error(function() decode(replace(remit1, case[1], case[2])) end, case[3])
        end
      end)

      it("must be inside a claim", function()
        assert.has_error(function() decode(edit(remit1, "LX*1~", "LX*1~\nSVC*HC:99211*1.00*1.00~")) end,
          "segment 15 (SVC): SVC outside a claim (no CLP before it)")
      end)

      it("refuses a line whose adjustments do not explain the difference", function()
        local text = edit(remit1, "SVC*HC:36415*18.50*16.00**1~", "SVC*HC:36415*18.50*16.50**1~")
        assert.has_error(function() decode(text) end,
          "segment 22 (SVC) element SVC03: line HC:36415 paid 16.50, but its charge 18.50 minus its adjustments (CAS) 2.50 is 16.00")
      end)
    end)

    context("CAS", function()
      it("names each bad element", function()
        local cases = {
          { "CAS*CO*45*2.50~", "CAS*XX*45*2.50~", "segment 24 (CAS) element CAS01: 'XX' is not a claim adjustment group code (CO, OA, PI, PR)" },
          { "CAS*CO*45*2.50~", "CAS*CR*45*2.50~", "segment 24 (CAS) element CAS01: 'CR' is not a claim adjustment group code (CO, OA, PI, PR)" },
          { "CAS*CO*45*2.50~", "CAS*CO**2.50~", "segment 24 (CAS) element CAS02: missing (adjustment reason code for the amount in CAS03)" },
          { "CAS*CO*45*2.50~", "CAS*CO~", "segment 24 (CAS) element CAS02: missing (adjustment reason code)" },
          { "CAS*CO*45*2.50~", "CAS*CO*45~", "segment 24 (CAS) element CAS03: missing (adjustment amount)" },
          { "CAS*CO*45*2.50~", "CAS*CO*45*2.5.0~", "segment 24 (CAS) element CAS03: '2.5.0' is not an amount" },
          { "CAS*CO*45*2.50~", "CAS*CO*45*2.50*x~", "segment 24 (CAS) element CAS04: 'x' is not a number" },
          { "CAS*CO*45*2.50~", "CAS*CO*45*1.50***1.00~", "segment 24 (CAS) element CAS05: missing (adjustment reason code for the amount in CAS06)" },
          { "CAS*CO*45*2.50~", "CAS*CO*45*1.50**253~", "segment 24 (CAS) element CAS06: missing (adjustment amount)" },
        }
        for _, case in ipairs(cases) do
          assert.has_error(function() decode(replace(remit1, case[1], case[2])) end, case[3])
        end
      end)

      it("must be inside a claim", function()
        assert.has_error(function() decode(edit(remit1, "LX*1~", "LX*1~\nCAS*CO*45*1.00~")) end,
          "segment 15 (CAS): CAS outside a claim (no CLP before it)")
      end)

      it("after a new LX belongs to no claim", function()
        assert.has_error(function() decode(edit(remit1, "CLP*svc-1002*", "LX*2~\nCAS*OA*23*0~\nCLP*svc-1002*")) end,
          "segment 29 (CAS): CAS outside a claim (no CLP before it)")
      end)
    end)

    context("PLB", function()
      it("names each bad element", function()
        local plb = "PLB*1512345678*20261231*L6:HM2026121200031*-2.15*WO:HM2026120500017*10.00~"
        local cases = {
          { "PLB*1512345678*20261231*L6:HM2026121200031*-2.15*WO:HM2026120500017*ten~", "segment 24 (PLB) element PLB06: 'ten' is not an amount" },
          { "PLB*1512345678*20261231*L6:HM2026121200031*-2.15**10.00~",
            "segment 24 (PLB) element PLB05: missing (adjustment reason for the amount in PLB06)" },
          { "PLB*1512345678*20261231~", "segment 24 (PLB) element PLB03: missing (provider adjustment reason)" },
          { "PLB*1512345678*20261231*L6:HM2026121200031**WO:HM2026120500017*10.00~",
            "segment 24 (PLB) element PLB04: missing (provider adjustment amount)" },
          { "PLB*1512345678*2026*L6:HM2026121200031*-2.15*WO:HM2026120500017*10.00~",
            "segment 24 (PLB) element PLB02: '2026' is not a date (CCYYMMDD)" },
          { "PLB**20261231*L6:HM2026121200031*-2.15*WO:HM2026120500017*10.00~", "segment 24 (PLB) element PLB01: missing (provider identifier)" },
        }
        for _, case in ipairs(cases) do
          assert.has_error(function() decode(replace(remit2, plb, case[1])) end, case[2])
        end
      end)

      it("closes the transaction set: no claim after it", function()
        local text = edit(remit2, "SE*23*0001~", "CLP*svc-1005*4*1.00*0*0*12*X1~\nSE*23*0001~")
        assert.has_error(function() decode(text) end, "segment 25 (CLP): CLP after PLB: provider adjustments close the transaction set")
      end)
    end)
  end)

  context("remittances without claims", function()
    it("give an empty list", function()
      local text = table.concat({
        "ISA*00*          *00*          *ZZ*HARBORMUTUAL   *ZZ*NORTHSIDECLN   *261212*1405*^*00501*000004792*0*P*:~",
        "GS*HP*HARBORMUTUAL*NORTHSIDECLN*20261212*1405*4792*X*005010X221A1~",
        "ST*835*0001~",
        "BPR*H*0*C*NON************20261212~",
        "TRN*1*NOTE40019*1512345678~",
        "N1*PR*HARBOR MUTUAL HEALTH~",
        "N1*PE*NORTHSIDE CLINICS~",
        "SE*6*0001~",
        "GE*1*4792~",
        "IEA*1*000004792~",
      }, "\n")
      assert.are.equal("[]", json.encode(decode(text)))
    end)
  end)
end)
