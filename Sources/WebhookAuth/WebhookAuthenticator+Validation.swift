/// Configuration problems found at load time, so a bad secret is reported to the operator once instead of turning
/// every partner request into `signature_mismatch`. Problems refer to secrets and tokens by position, never content.
public struct WebhookAuthConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let problems: [String]

    public init(problems: [String]) { self.problems = problems }

    public var description: String { problems.joined(separator: "; ") }
}

extension WebhookAuthenticator {
    /// Throws when a secret or token could never match, none is configured, or the tolerance is not a finite number
    /// of seconds ≥ 0.
    public func validate() throws(WebhookAuthConfigurationError) {
        var problems: [String] = []
        func checkTolerance(_ tolerance: Double) {
            if !(tolerance.isFinite && tolerance >= 0) {
                problems.append("tolerance must be a finite number of seconds, 0 or more")
            }
        }
        switch self {
        case let .standardWebhooks(secrets, tolerance):
            if secrets.isEmpty { problems.append("standardWebhooks: no secrets configured") }
            for (index, secret) in secrets.enumerated() where Self.standardWebhooksKey(secret) == nil {
                problems.append("standardWebhooks: secret #\(index + 1) is not 'whsec_' followed by standard base64")
            }
            checkTolerance(tolerance)
        case let .stripe(secrets, tolerance):
            if secrets.isEmpty { problems.append("stripe: no signing secrets configured") }
            for (index, secret) in secrets.enumerated() where secret.isEmpty {
                problems.append("stripe: signing secret #\(index + 1) is empty")
            }
            checkTolerance(tolerance)
        case let .bearer(tokens):
            if tokens.isEmpty { problems.append("bearer: no tokens configured") }
            for (index, token) in tokens.enumerated() {
                if token.isEmpty {
                    problems.append("bearer: token #\(index + 1) is empty")
                } else if token.contains(where: { $0 == " " || $0 == "\t" || $0.isNewline }) {
                    problems.append("bearer: token #\(index + 1) contains whitespace, which a Bearer credential cannot")
                }
            }
        case let .sendgrid(keys, tolerance):
            if keys.isEmpty { problems.append("sendgrid: no verification keys configured") }
            for (index, key) in keys.enumerated() where Self.sendGridKey(key) == nil {
                problems.append("sendgrid: verification key #\(index + 1) is not a P-256 public key (base64 DER or PEM)")
            }
            checkTolerance(tolerance)
        case let .twilio(tokens, publicURL):
            if tokens.isEmpty { problems.append("twilio: no auth tokens configured") }
            for (index, token) in tokens.enumerated() where token.isEmpty { problems.append("twilio: auth token #\(index + 1) is empty") }
            if !(publicURL.hasPrefix("https://") || publicURL.hasPrefix("http://")) || publicURL.contains("?") {
                problems.append("twilio: publicURL must be the http(s) URL configured at Twilio, without a query")
            }
        }
        if !problems.isEmpty { throw WebhookAuthConfigurationError(problems: problems) }
    }
}
