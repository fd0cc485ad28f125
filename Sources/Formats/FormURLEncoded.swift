/// application/x-www-form-urlencoded pairs (WHATWG URL "application/x-www-form-urlencoded parsing"): '&'-separated,
/// '+' is a space, percent escapes decoded as UTF-8 (invalid bytes become U+FFFD, an invalid escape stays as written),
/// split on bytes. One decoder for a request's query string, a form body's signed parameters (Twilio) and the
/// simulators, so the host reads a form exactly as the plugins' byte-wise Lua decoders do. By hand because
/// Foundation's URLComponents does not turn '+' into a space and its removingPercentEncoding gives up on a whole
/// value at the first bad escape.
public enum FormURLEncoded {
    public static func parse(_ text: String) -> [(String, String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "+") { bytes.append(0x20); continue }
            if byte == UInt8(ascii: "%"), iterator.count >= 2, let high = hex(iterator[iterator.startIndex]),
               let low = hex(iterator[iterator.startIndex + 1]) {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
                continue
            }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
