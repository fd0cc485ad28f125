/// Every textual and reflected form of a configuration shows the scheme, how many secrets or tokens it holds and the
/// tolerance, never the secrets themselves: `"\(auth)"`, `String(reflecting:)`, `dump(_:)` and debugger summaries all
/// go through these.
extension WebhookAuthenticator: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        switch self {
        case let .standardWebhooks(secrets, tolerance):
            return "standardWebhooks(secrets: \(Self.redacted(secrets.count)), tolerance: \(tolerance)s)"
        case let .stripe(secrets, tolerance):
            return "stripe(secrets: \(Self.redacted(secrets.count)), tolerance: \(tolerance)s)"
        case let .bearer(tokens):
            return "bearer(tokens: \(Self.redacted(tokens.count)))"
        case let .sendgrid(keys, tolerance):
            return "sendgrid(publicKeys: \(keys.count), tolerance: \(tolerance)s)"
        case let .twilio(tokens, publicURL):
            return "twilio(authTokens: \(Self.redacted(tokens.count)), publicURL: \(publicURL))"
        }
    }

    public var debugDescription: String { "WebhookAuthenticator.\(description)" }

    public var customMirror: Mirror {
        switch self {
        case let .standardWebhooks(secrets, tolerance):
            return Mirror(self, children: ["secrets": Self.redacted(secrets.count), "tolerance": tolerance],
                          displayStyle: .enum)
        case let .stripe(secrets, tolerance):
            return Mirror(self, children: ["secrets": Self.redacted(secrets.count), "tolerance": tolerance],
                          displayStyle: .enum)
        case let .bearer(tokens):
            return Mirror(self, children: ["tokens": Self.redacted(tokens.count)], displayStyle: .enum)
        case let .sendgrid(keys, tolerance):
            return Mirror(self, children: ["publicKeys": keys.count, "tolerance": tolerance], displayStyle: .enum)
        case let .twilio(tokens, publicURL):
            return Mirror(self, children: ["authTokens": Self.redacted(tokens.count), "publicURL": publicURL], displayStyle: .enum)
        }
    }

    private static func redacted(_ count: Int) -> String { "<\(count) redacted>" }
}
