/// Keeps personal data out of what the host writes: for a plugin whose catalog entry marks fields as PHI/PII
/// (`phi_fields: [family_name, mrn, …]`), the values of those fields in an invocation's input are collected when it
/// starts, and every occurrence of them is masked in the plugin's log lines (message and fields) and in the error the
/// invocation ends with — free text included, so `error("no patient " .. p.mrn)` is masked too. Fields with those
/// names are masked in log fields whatever their value.
public struct PHIRedaction: Sendable {
    public static let mask = "[masked]"
    /// Shorter values are not masked by value (a 1–2 character value would mask half the log); fields of those
    /// names still are.
    static let minimumValueLength = 3

    let fields: Set<String>
    let values: [String]

    public init(fields: Set<String>, values: [String] = []) {
        self.fields = fields
        // Longest first, so a value containing another is masked whole.
        self.values = Array(Set(values.filter { $0.count >= Self.minimumValueLength })).sorted { $0.count > $1.count }
    }

    public var isEmpty: Bool { fields.isEmpty }

    /// The PHI values in `json` (the invocation input): string and number values of keys named in `fields`, at any
    /// depth, including the strings inside arrays and objects under such a key.
    public func collecting(from json: [UInt8]) -> PHIRedaction {
        guard !fields.isEmpty else { return self }
        var found: [String] = []
        var scanner = JSONValueScanner(bytes: json)
        scanner.walk { key, value in if let key, fields.contains(key) { found.append(contentsOf: value) } }
        return PHIRedaction(fields: fields, values: values + found)
    }

    /// `text` with every PHI value masked.
    public func apply(_ text: String) -> String {
        guard !values.isEmpty else { return text }
        var out = text
        for value in values where out.contains(value) { out = out.replacingOccurrences(of: value, with: Self.mask) }
        return out
    }

    /// A JSON object text (log fields): values under PHI keys replaced, then PHI values masked anywhere.
    public func applyToFields(_ json: [UInt8]) -> String {
        var scanner = JSONValueScanner(bytes: json)
        return apply(scanner.maskingValues(of: fields, with: "\"\(Self.mask)\""))
    }
}

/// A small scanner over JSON the sandbox's encoder wrote (valid, compact): visits keyed values and rewrites values of
/// given keys. Written by hand because it must run without building Foundation values on every log line.
struct JSONValueScanner {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Calls `visit(key, scalarStrings)` for every value: the key it sits under (nil in arrays / at the top) and the
    /// string forms of the scalars inside it.
    mutating func walk(_ visit: (String?, [String]) -> Void) {
        i = 0
        _ = value(key: nil, visit)
    }

    /// Returns the scalars inside the value at `i`, visiting nested keyed values on the way.
    private mutating func value(key: String?, _ visit: (String?, [String]) -> Void) -> [String] {
        skipSpace()
        guard i < bytes.count else { return [] }
        var scalars: [String] = []
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] != UInt8(ascii: "}") else { i += 1; break }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                let name = string()
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: ":") { i += 1 }
                scalars += value(key: name, visit)
            }
        case UInt8(ascii: "["):
            i += 1
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] != UInt8(ascii: "]") else { i += 1; break }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                scalars += value(key: nil, visit)
            }
        case UInt8(ascii: "\""):
            scalars.append(string())
        default:
            let start = i
            while i < bytes.count, !",]} \n\r\t".utf8.contains(bytes[i]) { i += 1 }
            let literal = String(decoding: bytes[start..<i], as: UTF8.self)
            if literal != "true" && literal != "false" && literal != "null" { scalars.append(literal) }
            if i == start { i += 1 }
        }
        visit(key, scalars)
        return scalars
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    /// The string at `i` (a quote), unescaped for the common escapes.
    private mutating func string() -> String {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return "" }
        i += 1
        var out: [UInt8] = []
        while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                i += 1
                switch bytes[i] {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "u"):
                    // Kept escaped: values with \\u escapes are rare in PHI and are masked by key instead.
                    out += Array("\\u".utf8)
                default: out.append(bytes[i])
                }
            } else {
                out.append(bytes[i])
            }
            i += 1
        }
        i += 1
        return String(decoding: out, as: UTF8.self)
    }

    /// The JSON text with the values of `keys` replaced by `replacement`.
    mutating func maskingValues(of keys: Set<String>, with replacement: String) -> String {
        guard !keys.isEmpty else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        var spans: [(Range<Int>)] = []
        i = 0
        collectSpans(keys, &spans)
        var last = 0
        for span in spans.sorted(by: { $0.lowerBound < $1.lowerBound }) where span.lowerBound >= last {
            out += bytes[last..<span.lowerBound]
            out += Array(replacement.utf8)
            last = span.upperBound
        }
        out += bytes[last...]
        return String(decoding: out, as: UTF8.self)
    }

    /// Byte ranges of the values that sit under one of `keys`.
    private mutating func collectSpans(_ keys: Set<String>, _ spans: inout [Range<Int>]) {
        skipSpace()
        guard i < bytes.count else { return }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] != UInt8(ascii: "}") else { i += 1; return }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                let name = string()
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: ":") { i += 1 }
                skipSpace()
                let start = i
                collectSpans(keys, &spans)
                if keys.contains(name) { spans.append(start..<i) }
            }
        case UInt8(ascii: "["):
            i += 1
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] != UInt8(ascii: "]") else { i += 1; return }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                collectSpans(keys, &spans)
            }
        case UInt8(ascii: "\""):
            _ = string()
        default:
            let start = i
            while i < bytes.count, !",]} \n\r\t".utf8.contains(bytes[i]) { i += 1 }
            if i == start { i += 1 }
        }
    }
}
