/// Small helpers for writing JSON text by hand where key order must be fixed (CLI output lines) and the values are
/// few. Plugin data never goes through here: it is marshalled by the C codec (clua_json.c).
public enum JSONText {
    /// `s` as a JSON string literal (quotes included). Invalid UTF-8 was already replaced by the String decoder.
    public static func string(_ s: String) -> String {
        // Most strings need no escape: say so from one pass over the bytes (the pipeline writes each message's
        // context through here, and building scalar by scalar showed in its profile). U+2028/U+2029 are E2 80 A8/A9.
        var needsEscape = false
        var previous: (UInt8, UInt8) = (0, 0)
        for byte in s.utf8 {
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                || ((byte == 0xA8 || byte == 0xA9) && previous == (0xE2, 0x80)) {
                needsEscape = true
                break
            }
            previous = (previous.1, byte)
        }
        guard needsEscape else { return "\"" + s + "\"" }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// An object from already-encoded values, in the given key order.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// A number with at most three decimals, without exponent.
    public static func milliseconds(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    }
}
