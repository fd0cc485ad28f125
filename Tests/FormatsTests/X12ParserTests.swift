import Foundation
import Testing
@testable import Formats

@Suite struct X12ParserTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/x12")

    func sample(_ name: String) throws -> String { try String(contentsOf: Self.samples.appendingPathComponent(name), encoding: .utf8) }

    @Test func parsesThePublished835Remittance() throws {
        let interchange = try X12Interchange.parse(try sample("lfh_managed-care.835"))
        #expect(interchange.separators == .init(element: "*", component: ":", repetition: "^", segment: "~"))
        #expect(interchange.controlNumber == "000000907")
        #expect(interchange.senderID == "000000005" && interchange.receiverID == "12345")
        #expect(interchange.usage == "T")
        #expect(interchange.groups.count == 1)
        let group = try #require(interchange.groups.first)
        #expect(group.functionalCode == "HP" && group.version == "005010X221A1")
        let transaction = try #require(group.transactions.first)
        #expect(transaction.code == "835" && transaction.controlNumber == "112233")
        #expect(transaction.segments.first { $0.id == "BPR" }?.value(2) == "945.00")
        let claims = transaction.segments.filter { $0.id == "CLP" }
        #expect(claims.count == 2)
        #expect(claims.first?.value(1) == "5554555444")
        let service = try #require(transaction.segments.first { $0.id == "SVC" })
        #expect(service.elements[0] == [["HC", "99211"]])
        #expect(service.value(1, component: 2) == "99211")
    }

    @Test func parsesThePublished837Claim() throws {
        let interchange = try X12Interchange.parse(try sample("lfh_demo.example1.837"))
        let transaction = try #require(interchange.groups.first?.transactions.first)
        #expect(interchange.groups.first?.functionalCode == "HC")
        #expect(transaction.code == "837")
        let claim = try #require(transaction.segments.first { $0.id == "CLM" })
        #expect(claim.value(1) == "26463774")
        #expect(claim.value(2) == "100.00")
        #expect(transaction.segments.filter { $0.id == "LX" }.count == 4)
    }

    /// A minimal, valid 5010 interchange to break one piece at a time.
    static let minimal = [
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261121*1200*^*00501*000000001*0*P*:~",
        "GS*HP*SENDER*RECEIVER*20261121*1200*7*X*005010X221A1~",
        "ST*835*0001~",
        "BPR*I*10.00*C*ACH~",
        "SE*3*0001~",
        "GE*1*7~",
        "IEA*1*000000001~",
    ]

    func failure(_ segments: [String]) -> X12Error? {
        do {
            _ = try X12Interchange.parse(segments.joined(separator: "\n"))
            return nil
        } catch {
            return error
        }
    }

    @Test func theMinimalInterchangeParses() throws {
        #expect(failure(Self.minimal) == nil)
        let wrapped = try X12Interchange.parse(Self.minimal.joined(separator: "\r\n") + "\r\n")
        #expect(wrapped.segments.map(\.id) == ["ISA", "GS", "ST", "BPR", "SE", "GE", "IEA"])
    }

    @Test func malformedInterchangesNameSegmentAndElement() {
        var wrongCount = Self.minimal
        wrongCount[4] = "SE*4*0001~"
        #expect(failure(wrongCount)?.description == "segment 5 (SE) element SE01: SE01 says 4 segments; the transaction set has 3 (ST through SE)")

        var wrongControl = Self.minimal
        wrongControl[6] = "IEA*1*000000002~"
        #expect(failure(wrongControl)?.description == "segment 7 (IEA) element IEA02: IEA02 '000000002' does not match ISA13 '000000001'")

        var wrongGroup = Self.minimal
        wrongGroup[5] = "GE*1*8~"
        #expect(failure(wrongGroup)?.description == "segment 6 (GE) element GE02: GE02 '8' does not match GS06 '7'")

        var unterminated = Self.minimal
        unterminated[6] = "IEA*1*000000001"
        #expect(failure(unterminated)?.description == "segment 7 (IEA): the last segment is not terminated by '~'")

        var badID = Self.minimal
        badID[3] = "bpr*I*10.00~"
        #expect(failure(badID)?.description == "segment 4 (bpr): 'bpr' is not a segment id (2–3 upper-case letters or digits)")

        var missingSE = Self.minimal
        missingSE.remove(at: 4)
        #expect(failure(missingSE)?.description == "segment 3 (ST): transaction set 0001 has no SE trailer before the next ST, GE or IEA")

        var shortISA = Self.minimal
        shortISA[0] = "ISA*00*        *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261121*1200*^*00501*000000001*0*P*:~"
        #expect(failure(shortISA)?.description == "segment 1 (ISA) element ISA02: ISA is fixed-width: ISA02 must be exactly 10 characters")

        var trailing = Self.minimal
        trailing.append("ST*835*0002~")
        #expect(failure(trailing)?.description == "segment 8 (ST): data after the IEA trailer")

        #expect(failure(["GS*HP~"])?.description == "segment 1 (ISA): an interchange starts with a 106-character ISA segment")
    }

    @Test func separatorsMustBeDistinctAndNotAlphanumeric() {
        var same = Self.minimal
        same[0] = String(same[0].dropLast(2)) + "~~"
        #expect(failure(same)?.message == "the element, component and segment separators must differ")
        var letter = Self.minimal
        letter[0] = String(letter[0].dropLast(2)) + "A~"
        #expect(failure(letter)?.message == "separator 'A' must not be a letter, digit or space")
    }
}
