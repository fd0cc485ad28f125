/// The HL7 v2 ER7 parser. Written by hand: no maintained Swift library parses HL7 v2, and the format is small — the
/// separators come from the message itself (MSH-1, MSH-2), and the rest is splitting and unescaping.
///
/// Strict where a lenient parser would hide a broken interface: the message must start with MSH and declare distinct
/// separators, segment ids must be well formed, MSH-9 to MSH-12 must be present, escape sequences must be ones the
/// standard defines, and text must be UTF-8 (or ISO 8859-1 when MSH-18 says so). Tolerated, because real feeds do it:
/// segments ended by CR, LF or CRLF, and blank lines between them.
extension HL7Message {
    public static let maxSegments = 10_000

    public static func parse(_ bytes: [UInt8]) throws(HL7Error) -> HL7Message {
        func fail(_ position: Int, _ id: String, _ field: Int?, _ message: String) -> HL7Error {
            HL7Error(segmentPosition: position, segmentID: id, field: field, message: message)
        }
        var start = 0
        while start < bytes.count, bytes[start] == 0x0A || bytes[start] == 0x0D { start += 1 }
        guard bytes.count - start >= 8, bytes[start] == UInt8(ascii: "M"), bytes[start + 1] == UInt8(ascii: "S"),
              bytes[start + 2] == UInt8(ascii: "H") else {
            throw fail(1, "", nil, "a message starts with an MSH segment")
        }
        let delimiters = try readDelimiters(bytes, at: start + 3)
        let latin1 = declaresLatin1(bytes[start...], delimiters)

        var segments: [HL7Segment] = []
        var index = start
        while index < bytes.count {
            var end = index
            while end < bytes.count, bytes[end] != 0x0D, bytes[end] != 0x0A { end += 1 }
            if end > index {
                guard segments.count < maxSegments else {
                    throw fail(segments.count + 1, "", nil, "more than \(maxSegments) segments")
                }
                segments.append(try parseSegment(bytes[index..<end], position: segments.count + 1, delimiters, latin1: latin1))
            }
            index = end + 1
        }
        let message = HL7Message(delimiters: delimiters, segments: segments)
        for (number, what) in [(9, "the message type (MSH-9)"), (10, "the message control id (MSH-10)"),
                               (11, "the processing id (MSH-11)"), (12, "the version (MSH-12)")]
        where message.header.value(number).isEmpty {
            throw fail(1, "MSH", number, "\(what) is required")
        }
        if message.triggerEvent.isEmpty, message.messageType != "ACK" {
            throw fail(1, "MSH", 9, "the message type needs its trigger event (MSH-9.2), as in SIU^S12")
        }
        return message
    }

    static func readDelimiters(_ bytes: [UInt8], at offset: Int) throws(HL7Error) -> HL7Delimiters {
        let field = bytes[offset]
        // MSH-2: component, repetition, escape, subcomponent, and from v2.7 an optional truncation character.
        var characters: [UInt8] = []
        var index = offset + 1
        while index < bytes.count, bytes[index] != field, bytes[index] != 0x0D, bytes[index] != 0x0A { characters.append(bytes[index]); index += 1 }
        guard characters.count == 4 || characters.count == 5 else {
            throw HL7Error(segmentPosition: 1, segmentID: "MSH", field: 2,
                           message: "the encoding characters must be 4 (or 5 with a truncation character), as in ^~\\&")
        }
        let all = [field] + characters
        for byte in all where byte < 0x21 || byte > 0x7E || isAlphanumeric(byte) {
            throw HL7Error(segmentPosition: 1, segmentID: "MSH", field: byte == field ? 1 : 2,
                           message: "separator byte 0x\(String(byte, radix: 16)) must be a visible character that is not a letter or digit")
        }
        guard Set(all).count == all.count else {
            throw HL7Error(segmentPosition: 1, segmentID: "MSH", field: 2, message: "the field separator and encoding characters must all differ")
        }
        return HL7Delimiters(field: field, component: characters[0], repetition: characters[1], escape: characters[2],
                             subcomponent: characters[3])
    }

    /// MSH-18 "8859/1": the sender's text is Latin-1. Read from the raw header before any text is decoded.
    static func declaresLatin1(_ bytes: ArraySlice<UInt8>, _ delimiters: HL7Delimiters) -> Bool {
        let line = bytes.prefix { $0 != 0x0D && $0 != 0x0A }
        let fields = line.split(separator: delimiters.field, omittingEmptySubsequences: false)
        // fields[0] is "MSH", fields[1] is MSH-2, so MSH-n is fields[n - 1].
        guard fields.count > 17 else { return false }
        let charset = fields[17].split(separator: delimiters.repetition, omittingEmptySubsequences: false).first ?? []
        return Array(charset) == Array("8859/1".utf8)
    }

    static func parseSegment(_ line: ArraySlice<UInt8>, position: Int, _ d: HL7Delimiters, latin1: Bool) throws(HL7Error) -> HL7Segment {
        let idBytes = line.prefix(3)
        let id = String(decoding: idBytes, as: UTF8.self)
        guard idBytes.count == 3, isUpper(idBytes[idBytes.startIndex]), idBytes.dropFirst().allSatisfy({ isUpper($0) || isDigit($0) }),
              line.count == 3 || line[line.startIndex + 3] == d.field else {
            throw HL7Error(segmentPosition: position, segmentID: "", field: nil,
                           message: "'\(String(decoding: line.prefix(12), as: UTF8.self))' does not start with a segment id (3 upper-case letters or digits) and the field separator")
        }
        if position == 1, id != "MSH" { throw HL7Error(segmentPosition: 1, segmentID: id, field: nil, message: "the first segment must be MSH") }
        if position > 1, id == "MSH" {
            throw HL7Error(segmentPosition: position, segmentID: id, field: nil, message: "a second MSH: one message per body (batches are not accepted)")
        }
        var fields: [HL7Field] = []
        var rest = line.dropFirst(4)
        if id == "MSH" {
            fields.append(HL7Field(literal: String(decoding: [d.field], as: UTF8.self)))
            let encoding = rest.prefix { $0 != d.field }
            fields.append(HL7Field(literal: String(decoding: encoding, as: UTF8.self)))
            rest = rest.dropFirst(encoding.count + 1)
            if line.count <= 3 + 1 + encoding.count { return HL7Segment(id: id, fields: fields) }
        } else if line.count == 3 {
            return HL7Segment(id: id, fields: [])
        }
        let firstNumber = fields.count + 1
        for (offset, raw) in rest.split(separator: d.field, omittingEmptySubsequences: false).enumerated() {
            let number = firstNumber + offset
            var repetitions: [[[String]]] = []
            for repetition in raw.split(separator: d.repetition, omittingEmptySubsequences: false) {
                var components: [[String]] = []
                for component in repetition.split(separator: d.component, omittingEmptySubsequences: false) {
                    var subcomponents: [String] = []
                    for sub in component.split(separator: d.subcomponent, omittingEmptySubsequences: false) {
                        do {
                            subcomponents.append(try unescape(sub, d, latin1: latin1))
                        } catch let problem {
                            throw HL7Error(segmentPosition: position, segmentID: id, field: number, message: problem.reason)
                        }
                    }
                    components.append(subcomponents)
                }
                repetitions.append(components)
            }
            fields.append(HL7Field(repetitions: repetitions))
        }
        return HL7Segment(id: id, fields: fields)
    }

    struct TextProblem: Error { let reason: String }

    /// Decodes one leaf value: escape sequences (HL7 v2 chapter 2, "Use of escape sequences in text fields") and the
    /// character set.
    static func unescape(_ raw: ArraySlice<UInt8>, _ d: HL7Delimiters, latin1: Bool) throws(TextProblem) -> String {
        for byte in raw where byte < 0x20 && byte != 0x09 {
            throw TextProblem(reason: "control byte 0x\(String(byte, radix: 16)) in a value")
        }
        var out: [UInt8]
        if raw.contains(d.escape) {
            out = []
            out.reserveCapacity(raw.count)
            var index = raw.startIndex
            while index < raw.endIndex {
                let byte = raw[index]
                guard byte == d.escape else { out.append(byte); index += 1; continue }
                guard let close = raw[(index + 1)...].firstIndex(of: d.escape) else {
                    throw TextProblem(reason: "an escape sequence is not closed by '\(Character(UnicodeScalar(d.escape)))'")
                }
                let body = raw[(index + 1)..<close]
                switch Array(body) {
                case [UInt8(ascii: "F")]: out.append(d.field)
                case [UInt8(ascii: "S")]: out.append(d.component)
                case [UInt8(ascii: "T")]: out.append(d.subcomponent)
                case [UInt8(ascii: "R")]: out.append(d.repetition)
                case [UInt8(ascii: "E")]: out.append(d.escape)
                case [UInt8(ascii: "H")], [UInt8(ascii: "N")]: break // highlighting on/off: display only
                case Array(".br".utf8): out.append(0x0A)
                default:
                    guard body.first == UInt8(ascii: "X"), body.count >= 3, body.count % 2 == 1,
                          let decoded = hexBytes(body.dropFirst()) else {
                        throw TextProblem(reason: "unsupported escape sequence '\(String(decoding: raw[index...close], as: UTF8.self))' (F S T R E Xhh H N .br)")
                    }
                    out.append(contentsOf: decoded)
                }
                index = close + 1
            }
        } else {
            out = Array(raw)
        }
        if latin1 { return String(out.map { Character(UnicodeScalar($0)) }) }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw TextProblem(reason: "text is not valid UTF-8 (a Latin-1 sender must say so in MSH-18 with 8859/1)")
        }
        return text
    }

    static func hexBytes(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    static func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isAlphanumeric(_ byte: UInt8) -> Bool { isUpper(byte) || isDigit(byte) || (byte >= 0x61 && byte <= 0x7A) }
}
