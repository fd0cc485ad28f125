import Crypto
import Foundation

/// Stripe's webhook signatures (`Stripe-Signature: t=…,v1=…`), as Stripe's libraries verify them, except that the
/// tolerance applies either side of `now` (Stripe's libraries only refuse old timestamps) and a header with two `t=`
/// elements is refused as malformed rather than resolved.
extension WebhookAuthenticator {
    static let stripeSignatureHeader = "stripe-signature"
    private static let stripeHeaderName = "Stripe-Signature"

    static func verifyStripe(headers: [String: String], body: [UInt8], now: Date, secrets: [String],
                             tolerance: TimeInterval) -> Result<Verified, WebhookAuthFailure>
    {
        guard let header = headers[stripeSignatureHeader], !header.isEmpty else {
            return .failure(WebhookAuthFailure(
                .missingSignature, header: stripeHeaderName,
                message: "Missing header Stripe-Signature; expected 't=<Unix seconds>,v1=<hex HMAC-SHA256>'."))
        }

        let parsed: ParsedStripeHeader
        switch parseStripeHeader(header) {
        case let .success(value): parsed = value
        case let .failure(problem):
            return .failure(WebhookAuthFailure(
                .malformedSignature, header: stripeHeaderName,
                message: "Stripe-Signature must look like 't=<Unix seconds>,v1=<64 hex digits>'; \(problem)."))
        }

        if let failure = SignedTimestamp.check(parsed.timestamp, now: now, tolerance: tolerance,
                                               header: stripeHeaderName, label: "Stripe-Signature t=")
        {
            return .failure(failure)
        }
        if parsed.v1.isEmpty {
            return .failure(WebhookAuthFailure(
                .signatureMismatch, header: stripeHeaderName,
                message: "Stripe-Signature carries no v1 signature; only v1 (HMAC-SHA256) is accepted, v0 and other "
                    + "schemes are ignored."))
        }

        let prefix = Array("\(parsed.timestamp).".utf8)
        for secret in secrets where !secret.isEmpty {
            // Stripe keys the HMAC with the signing secret's own UTF-8 bytes, `whsec_` included.
            var hmac = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
            hmac.update(data: prefix)
            hmac.update(data: body)
            let mac = hmac.finalize()
            // `MessageAuthenticationCode == DataProtocol` is swift-crypto's constant-time compare.
            if parsed.v1.contains(where: { mac == $0 }) {
                return .success(Verified(webhookID: nil,
                                         timestamp: Date(timeIntervalSince1970: TimeInterval(parsed.timestamp))))
            }
        }
        return .failure(WebhookAuthFailure(
            .signatureMismatch, header: stripeHeaderName,
            message: "No v1 signature in Stripe-Signature matches this source's signing secret. Stripe signs "
                + "'{t}.{body}' with HMAC-SHA256 keyed by the endpoint's whsec_ signing secret: check that the secret "
                + "configured here is the one of this endpoint (test and live mode differ) and that the body reaches "
                + "us unmodified."))
    }

    struct ParsedStripeHeader {
        var timestamp: Int64
        var v1: [[UInt8]]
    }

    /// The `t` and decoded `v1` elements of a `Stripe-Signature` header, or a description of what is wrong with it.
    /// Other elements (`v0`, future schemes) are skipped.
    static func parseStripeHeader(_ header: String) -> Result<ParsedStripeHeader, StripeHeaderProblem> {
        var timestamp: Int64?
        var v1: [[UInt8]] = []
        var sawV1 = false
        for element in header.split(separator: ",", omittingEmptySubsequences: true) {
            let element = element.trimmingCharacters(in: .whitespaces)
            guard let equals = element.firstIndex(of: "=") else { return .failure(.elementWithoutEquals) }
            let key = element[..<equals]
            let value = element[element.index(after: equals)...]
            switch key {
            case "t":
                guard timestamp == nil else { return .failure(.repeatedTimestamp) }
                guard let parsed = SignedTimestamp.parse(value) else { return .failure(.badTimestamp) }
                timestamp = parsed
            case "v1":
                sawV1 = true
                if let mac = hexBytes(value), mac.count == SHA256.byteCount { v1.append(mac) }
            default:
                continue
            }
        }
        guard let timestamp else { return .failure(.noTimestamp) }
        if sawV1 && v1.isEmpty { return .failure(.badV1) }
        return .success(ParsedStripeHeader(timestamp: timestamp, v1: v1))
    }

    enum StripeHeaderProblem: Error, CustomStringConvertible {
        case elementWithoutEquals, repeatedTimestamp, badTimestamp, noTimestamp, badV1

        var description: String {
            switch self {
            case .elementWithoutEquals: return "an element has no '='"
            case .repeatedTimestamp: return "it has more than one t= element"
            case .badTimestamp: return "t= is not an integer number of seconds"
            case .noTimestamp: return "it has no t= element"
            case .badV1: return "no v1= element is 64 hex digits"
            }
        }
    }

    /// Bytes of an even-length hexadecimal string (either case), or `nil`.
    static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.count.isMultiple(of: 2) else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
