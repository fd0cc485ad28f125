import CCurlShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `Retry-After` (RFC 9110 §10.2.3): either delta-seconds or an HTTP-date.
public enum RetryAfter {
    /// The wait `value` asks for, measured from `now` (seconds since the epoch) for the date form. A date in the past
    /// gives zero; delta-seconds are capped at one year; anything else is nil.
    public static func parse(_ value: String, now: Int = Int(time(nil))) -> Duration? {
        let text = value.trimmingWhitespace()
        guard !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            let cap = 365 * 24 * 3600
            return .seconds(text.utf8.count > 9 ? cap : min(Int(text) ?? cap, cap))
        }
        // curl_getdate understands the IMF-fixdate, RFC 850 and asctime forms HTTP allows.
        let date = curl_getdate(text, nil)
        guard date != -1 else { return nil }
        return .seconds(max(0, Int(date) - now))
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace) and line ends.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
