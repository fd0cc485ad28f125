/// Checks that bytes are one JSON text (RFC 8259): structure, string escapes, number grammar, UTF-8 (no overlong
/// forms, no surrogates), nesting depth — without building any values.
///
/// Ingress must refuse malformed JSON before it is durable, but has no use for the values unless the flow orders by
/// a key; Foundation's parser building a whole object tree for every request showed in the pipeline's profile.
enum JSONSyntax {
    struct Failure: Error, Equatable {
        let offset: Int
        let reason: String
        var description: String { "\(reason) at byte \(offset)" }
    }

    static func validate(_ bytes: [UInt8], maxDepth: Int = 512) -> Failure? {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        do throws(Failure) {
            parser.skipSpace()
            try parser.value(depth: 0)
            parser.skipSpace()
            if parser.i != bytes.count { throw Failure(offset: parser.i, reason: "unexpected data after the JSON value") }
            return nil
        } catch {
            return error
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

        mutating func value(depth: Int) throws(Failure) {
            guard i < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[i] {
            case UInt8(ascii: "{"): try container(close: UInt8(ascii: "}"), depth: depth, object: true)
            case UInt8(ascii: "["): try container(close: UInt8(ascii: "]"), depth: depth, object: false)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw fail("unexpected character")
            }
        }

        mutating func container(close: UInt8, depth: Int, object: Bool) throws(Failure) {
            guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == close { i += 1; return }
            while true {
                if object {
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    try string()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after the key") }
                    i += 1
                    skipSpace()
                }
                try value(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end of input") }
                if bytes[i] == close { i += 1; return }
                guard bytes[i] == UInt8(ascii: ",") else { throw fail(object ? "expected ',' or '}'" : "expected ',' or ']'") }
                i += 1
                skipSpace()
            }
        }

        mutating func literal(_ word: StaticString) throws(Failure) {
            let count = word.utf8CodeUnitCount
            guard i + count <= bytes.count else { throw fail("unexpected end of input") }
            for k in 0..<count where bytes[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
            i += count
        }

        mutating func digits() -> Int {
            let start = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - start
        }

        mutating func number() throws(Failure) {
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count else { throw fail("unexpected end of input in a number") }
            if bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { throw fail("invalid number") }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { throw fail("expected digits after the decimal point") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw fail("expected digits in the exponent") }
            }
        }

        mutating func string() throws(Failure) {
            i += 1
            while i < bytes.count {
                let b = bytes[i]
                switch b {
                case UInt8(ascii: "\""):
                    i += 1
                    return
                case UInt8(ascii: "\\"):
                    i += 1
                    guard i < bytes.count else { throw fail("unterminated escape") }
                    switch bytes[i] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 1
                    case UInt8(ascii: "u"):
                        guard i + 4 < bytes.count, bytes[(i + 1)...(i + 4)].allSatisfy(\.isHexDigit) else { throw fail("invalid \\u escape") }
                        i += 5
                    default: throw fail("invalid escape")
                    }
                case 0x00..<0x20: throw fail("control character in a string")
                case 0x20..<0x80: i += 1
                default: try utf8Sequence()
                }
            }
            throw fail("unterminated string")
        }

        /// One multi-byte UTF-8 sequence (RFC 3629 table: no overlongs, no surrogates, at most U+10FFFF).
        mutating func utf8Sequence() throws(Failure) {
            let b0 = bytes[i]
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: throw fail("invalid UTF-8")
            }
            guard i + length <= bytes.count else { throw fail("truncated UTF-8") }
            guard (low...high).contains(bytes[i + 1]) else { throw fail("invalid UTF-8") }
            for k in 2..<length where !(0x80...0xBF).contains(bytes[i + k]) { throw fail("invalid UTF-8") }
            i += length
        }
    }
}

private extension UInt8 {
    var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
