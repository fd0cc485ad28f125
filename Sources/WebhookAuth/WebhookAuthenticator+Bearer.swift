import Crypto

/// `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme name is case-insensitive, RFC 9110 §11.1).
extension WebhookAuthenticator {
    static let authorizationHeader = "authorization"

    static func verifyBearer(headers: [String: String], tokens: [String]) -> Result<Verified, WebhookAuthFailure> {
        let value = (headers[authorizationHeader] ?? "").trimmingSpaces()
        guard !value.isEmpty else {
            return .failure(WebhookAuthFailure(
                .missingToken, header: "Authorization",
                message: "Missing header Authorization; expected 'Authorization: Bearer <token>'."))
        }
        let space = value.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? value.endIndex
        let scheme = value[..<space]
        guard scheme.lowercased() == "bearer" else {
            return .failure(WebhookAuthFailure(
                .missingToken, header: "Authorization",
                message: "Authorization uses \(describeScheme(scheme)); this source expects 'Bearer <token>'."))
        }
        let presented = value[space...].trimmingSpaces()
        guard !presented.isEmpty else {
            return .failure(WebhookAuthFailure(
                .missingToken, header: "Authorization",
                message: "Authorization has the Bearer scheme but no token; expected 'Bearer <token>'."))
        }

        // Compare fixed-size SHA-256 digests, so neither the length nor the content of a configured token shows in
        // the timing; `Digest ==` is swift-crypto's constant-time compare, and every token is compared (no early exit).
        let presentedDigest = SHA256.hash(data: Array(presented.utf8))
        var matched = false
        for token in tokens where !token.isEmpty {
            if SHA256.hash(data: Array(token.utf8)) == presentedDigest { matched = true }
        }
        guard matched else {
            return .failure(WebhookAuthFailure(
                .tokenMismatch, header: "Authorization",
                message: "The bearer token in Authorization is not one of the tokens configured for this source."))
        }
        return .success(Verified(webhookID: nil, timestamp: nil))
    }

    /// Names a non-Bearer scheme for the message only when it looks like a scheme token (so request text that might
    /// be a credential is not echoed): "the Basic scheme", otherwise "another scheme".
    private static func describeScheme(_ scheme: Substring) -> String {
        let known = ["basic", "digest", "negotiate", "hoba", "mutual", "ntlm", "aws4-hmac-sha256", "token"]
        return known.contains(scheme.lowercased()) ? "the \(scheme) scheme" : "another scheme"
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        let text = self[...]
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return Substring() }
        return Substring(text[first...last])
    }
}
