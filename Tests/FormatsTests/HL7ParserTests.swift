import Foundation
import Testing
@testable import Formats

@Suite struct HL7ParserTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/hl7v2")

    func sample(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: Self.samples.appendingPathComponent(name))) }

    static let sampleNames = ["ADT-A04-01.hl7", "ADT-A08-01.hl7", "DFT-P03-01.hl7", "SIU-S12-01.hl7", "SIU-S13-01.hl7",
                              "SIU-S14-01.hl7", "SIU-S15-01.hl7", "SIU-S26-01.hl7"]

    @Test(arguments: sampleNames)
    func everyPublishedSampleParsesWithItsTypeFromTheFileName(_ name: String) throws {
        let message = try HL7Message.parse(try sample(name))
        let parts = name.split(separator: "-")
        #expect(message.messageType == parts[0])
        #expect(message.triggerEvent == parts[1])
        #expect(message.version == "2.8")
        #expect(message.header.id == "MSH")
        // Every line of the file is one segment (the samples end segments with LF only).
        let lines = String(decoding: try sample(name), as: UTF8.self).split(separator: "\n").filter { !$0.isEmpty }
        #expect(message.segments.count == lines.count)
    }

    @Test func readsTheScheduleThePatientAndTheirRepetitions() throws {
        let message = try HL7Message.parse(try sample("SIU-S12-01.hl7"))
        #expect(message.controlID == "MSG00012" && message.structure == "SIU_S12" && message.processingID == "P")
        #expect(message.sendingApplication == "SCHApp" && message.sendingFacility == "GHHSFacility")
        let msh = message.header
        #expect(msh.value(1) == "|" && msh.value(2) == #"^~\&"#)
        #expect(msh.value(4, component: 2) == "2.16.840.1.122848.1.30")
        let sch = try #require(message.segments.first { $0.id == "SCH" })
        #expect(sch.value(1) == "12345" && sch.value(2) == "36996" && sch.value(25) == "Booked")
        // SCH-12: a name with subcomponents (XCN-2 is a family name FN: surname & own surname prefix & own surname).
        #expect(sch.value(12, component: 2, subcomponent: 1) == "Smith" && sch.value(12, component: 2, subcomponent: 2) == "Mr.")
        let pid = try #require(message.segments.first { $0.id == "PID" })
        // PID-3 repeats: the MRN and a social security number.
        #expect(pid.fields[2].repetitions.count == 2)
        #expect(pid.value(3) == "PATID1234" && pid.value(3, repetition: 2) == "123456789" && pid.value(3, repetition: 2, component: 5) == "SS")
        #expect(pid.value(5, component: 2) == "ADAM" && pid.value(5, subcomponent: 1) == "EVERYMAN" && pid.value(5, subcomponent: 5) == "Aniston")
        #expect(pid.value(7) == "198808181126+0215")
        #expect(pid.value(11, component: 3) == "Ann Arbor ") // values are kept exactly, trailing space included
        let tq1 = try #require(message.segments.first { $0.id == "TQ1" })
        #expect(tq1.value(7) == "20210924093000+0215" && tq1.value(8) == "20210924102000+0215")
        #expect(message.segments.filter { $0.id == "NTE" }.count == 5)
    }

    @Test func carriageReturnsAndCRLFEndSegmentsToo() throws {
        let lf = try sample("SIU-S15-01.hl7")
        let text = String(decoding: lf, as: UTF8.self)
        let viaCR = try HL7Message.parse(Array(text.replacingOccurrences(of: "\n", with: "\r").utf8))
        let viaCRLF = try HL7Message.parse(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        #expect(viaCR == (try HL7Message.parse(lf)))
        #expect(viaCRLF == viaCR)
    }

    @Test func escapeSequencesDecodeWithTheMessagesOwnDelimiters() throws {
        let text = "MSH#*%!$#APP#FAC#R#RF#20260101##ADT*A08#C1#P#2.5\rNTE#1##a !F! b !S! c !T! d !R! e !E! f !X48C3A9! g !H!bold!N!!.br!h\r"
        let message = try HL7Message.parse(Array(text.utf8))
        #expect(message.delimiters == HL7Delimiters(field: UInt8(ascii: "#"), component: UInt8(ascii: "*"), repetition: UInt8(ascii: "%"),
                                                    escape: UInt8(ascii: "!"), subcomponent: UInt8(ascii: "$")))
        #expect(message.messageType == "ADT" && message.triggerEvent == "A08")
        #expect(message.segments[1].value(3) == "a # b * c $ d % e ! f Hé g bold\nh")
    }

    @Test func latin1IsDecodedOnlyWhenMSH18SaysSo() throws {
        let body: [UInt8] = Array("MSH|^~\\&|A|B|C|D|20260101||ADT^A04|1|P|2.5||||||8859/1\rPID|1||7||M".utf8) + [0xFC] + Array("LLER^J\r".utf8)
        #expect(try HL7Message.parse(body).segments[1].value(5) == "M\u{FC}LLER")
        var undeclared = body
        undeclared.replaceSubrange(undeclared.firstRange(of: Array("8859/1".utf8))!, with: Array("UNICODE UTF-8".utf8))
        #expect(throws: HL7Error(segmentPosition: 2, segmentID: "PID", field: 5,
                                 message: "text is not valid UTF-8 (a Latin-1 sender must say so in MSH-18 with 8859/1)")) {
            try HL7Message.parse(undeclared)
        }
    }

    static let header = "MSH|^~\\&|A|B|C|D|20260101||SIU^S12|42|P|2.5\r"

    @Test(arguments: [
        ("PID|1\r", 1, "", nil, "a message starts with an MSH segment"),
        ("MSH|^~\\|A\r", 1, "MSH", 2, "encoding characters must be 4"),
        ("MSH|^~^&|A\r", 1, "MSH", 2, "must all differ"),
        ("MSH|A~\\&|x\r", 1, "MSH", 2, "not a letter or digit"),
        ("MSH|^~\\&|A|B|C|D|20260101||SIU^S12||P|2.5\r", 1, "MSH", 10, "control id (MSH-10) is required"),
        ("MSH|^~\\&|A|B|C|D|20260101||SIU|42|P|2.5\r", 1, "MSH", 9, "trigger event (MSH-9.2)"),
        ("MSH|^~\\&|A|B|C|D|20260101||SIU^S12|42|P\r", 1, "MSH", 12, "version (MSH-12) is required"),
        (header + "pid|1\r", 2, "", nil, "does not start with a segment id"),
        (header + "PIDX|1\r", 2, "", nil, "does not start with a segment id"),
        (header + "SCH|1\rPID|1||7||DOE^\\Q\\\r", 3, "PID", 5, "unsupported escape sequence '\\Q\\'"),
        (header + "PID|1||7||DOE^\\F\r", 2, "PID", 5, "escape sequence is not closed"),
        (header + "PID|1||7||DOE^\\X4\\\r", 2, "PID", 5, "unsupported escape sequence"),
        (header + "PID|1||7||DO\u{1}E\r", 2, "PID", 5, "control byte 0x1"),
        (header + header, 2, "MSH", nil, "a second MSH"),
    ] as [(String, Int, String, Int?, String)])
    func malformedMessagesNameTheSegmentAndField(text: String, segment: Int, id: String, field: Int?, words: String) {
        do {
            _ = try HL7Message.parse(Array(text.utf8))
            Issue.record("accepted: \(text.debugDescription)")
        } catch {
            #expect(error.segmentPosition == segment, "\(error)")
            #expect(error.segmentID == id, "\(error)")
            #expect(error.field == field, "\(error)")
            #expect(error.message.contains(words), "\(error)")
        }
    }

    @Test func errorsReadAsSegmentAndField() {
        let error = HL7Error(segmentPosition: 4, segmentID: "PID", field: 5, message: "x")
        #expect(error.description == "segment 4 (PID) field PID-5: x")
    }

    @Test func ackSwapsSenderAndReceiverAndEchoesTheControlID() throws {
        let message = try HL7Message.parse(try sample("SIU-S12-01.hl7"))
        let ack = HL7Acknowledgement.build(for: message, code: .accept, controlID: "ACK-1", now: Date(timeIntervalSince1970: 0))
        let parsed = try HL7Message.parse(ack)
        #expect(parsed.messageType == "ACK" && parsed.triggerEvent == "S12" && parsed.structure == "ACK")
        #expect(parsed.sendingApplication == "EHRApp" && parsed.sendingFacility == "GHHRFacility")
        #expect(parsed.header.value(5) == "SCHApp" && parsed.header.value(6, component: 2) == "2.16.840.1.122848.1.30")
        #expect(parsed.header.value(7) == "19700101000000+0000" && parsed.controlID == "ACK-1" && parsed.version == "2.8")
        let msa = try #require(parsed.segments.last)
        #expect(msa.id == "MSA" && msa.value(1) == "AA" && msa.value(2) == "MSG00012")
    }

    @Test func rejectionCarriesTheReasonInMSAAndERREscaped() throws {
        let ack = HL7Acknowledgement.build(for: nil, code: .reject, text: "segment 2 (PID) field PID-5: bad | value",
                                           condition: .dataType, controlID: "N1")
        let parsed = try HL7Message.parse(ack)
        #expect(parsed.segments.map(\.id) == ["MSH", "MSA", "ERR"])
        #expect(parsed.segments[1].value(1) == "AR" && parsed.segments[1].value(3) == "segment 2 (PID) field PID-5: bad | value")
        #expect(parsed.segments[2].value(3) == "102" && parsed.segments[2].value(3, component: 3) == "HL70357")
        #expect(parsed.segments[2].value(8) == "segment 2 (PID) field PID-5: bad | value")
    }
}
