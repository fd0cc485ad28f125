import Crypto
import Formats
import Foundation

/// Twilio's request validation (its "Webhooks security" documentation): `X-Twilio-Signature` is the base64
/// HMAC-SHA1, keyed by the account's auth token, of the full URL Twilio requested (scheme, host, path and query, as
/// configured in Twilio) followed, for a form-encoded POST, by every parameter's name and value sorted by name. The
/// scheme carries no timestamp: a replayed callback verifies, so sources must stay idempotent (status callbacks are
/// keyed by message id and status).
extension WebhookAuthenticator {
    static let twilioSignatureHeader = "x-twilio-signature"

    static func verifyTwilio(headers: [String: String], body: [UInt8], query: String?, authTokens: [String],
                             publicURL: String) -> Result<Verified, WebhookAuthFailure> {
        let presented = (headers[twilioSignatureHeader] ?? "").trimmingSpaces()
        guard !presented.isEmpty else {
            return .failure(WebhookAuthFailure(.missingSignature, header: "X-Twilio-Signature",
                                               message: "Missing header X-Twilio-Signature (Twilio signs every webhook it sends)."))
        }
        guard let presentedMAC = Data(base64Encoded: String(presented)), presentedMAC.count == Insecure.SHA1.byteCount else {
            return .failure(WebhookAuthFailure(.malformedSignature, header: "X-Twilio-Signature",
                                               message: "X-Twilio-Signature is not the base64 of a 20-byte HMAC-SHA1."))
        }
        let suffix = query.map { $0.isEmpty ? "" : "?" + $0 } ?? ""
        let parameters = twilioParameters(body).flatMap { Array($0.0.utf8) + Array($0.1.utf8) }
        var matched = false
        // Twilio's own validators accept the URL with and without the scheme's default port (its signing is not
        // consistent about ":443"), so both forms are tried.
        for url in urlVariants(publicURL) {
            let content = Array((url + suffix).utf8) + parameters
            for token in authTokens where !token.isEmpty {
                // swift-crypto's isValidAuthenticationCode compares in constant time.
                if HMAC<Insecure.SHA1>.isValidAuthenticationCode(presentedMAC, authenticating: content, using: SymmetricKey(data: Array(token.utf8))) {
                    matched = true
                }
            }
        }
        guard matched else {
            return .failure(WebhookAuthFailure(.signatureMismatch, header: "X-Twilio-Signature",
                                               message: "X-Twilio-Signature does not match this request for the configured auth token(s) and URL "
                                                   + "\(publicURL) (the URL must be exactly the one configured at Twilio)."))
        }
        return .success(Verified(webhookID: nil, timestamp: nil))
    }

    /// `url` as configured, and with its scheme's default port added or removed.
    static func urlVariants(_ url: String) -> [String] {
        guard let schemeEnd = url.range(of: "://") else { return [url] }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let rest = url[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<hostEnd], path = rest[hostEnd...]
        let port = scheme == "https" ? ":443" : scheme == "http" ? ":80" : nil
        guard let port else { return [url] }
        let prefix = url[..<schemeEnd.upperBound]
        if authority.hasSuffix(port) { return [url, String(prefix) + authority.dropLast(port.count) + path] }
        if authority.contains(":") { return [url] }
        return [url, String(prefix) + authority + port + path]
    }

    /// The form parameters of the body, sorted by name then value, as Twilio signs them.
    static func twilioParameters(_ body: [UInt8]) -> [(String, String)] {
        FormURLEncoded.parse(String(decoding: body, as: UTF8.self)).sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
    }
}
