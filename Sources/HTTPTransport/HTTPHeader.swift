/// One header field, exactly as sent or received: the name keeps its case, and a list of them keeps order and
/// duplicates (`Set-Cookie`, repeated `Via`).
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// RFC 9110 `token` characters: what a header name (and a method) may be made of.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// A value may not carry CR, LF or NUL: anything else would let a caller inject extra header lines.
    static func isSafeValue(_ text: String) -> Bool {
        !text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }
}

extension Array where Element == HTTPHeader {
    /// Every value of the fields named `name` (compared case-insensitively), in order.
    public func values(for name: String) -> [String] {
        filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The first value of the field named `name` (compared case-insensitively).
    public func first(_ name: String) -> String? {
        first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Whether a field named `name` is present (compared case-insensitively).
    public func contains(_ name: String) -> Bool { first(name) != nil }

    /// The list without the fields named in `names` (compared case-insensitively).
    func removing(_ names: Set<String>) -> [HTTPHeader] {
        filter { !names.contains($0.name.lowercased()) }
    }
}
