import Foundation

/// How one source proves that a webhook posted to `POST /ingest/{source}` comes from the partner: pure verification
/// of headers and body, with no HTTP server and no storage.
///
/// Secrets and tokens never appear in `description`, `debugDescription` or a `Mirror` (see
/// `WebhookAuthenticator+Redaction.swift`), and no failure message echoes a secret or an expected signature.
/// Call `validate()` when loading configuration: at verification time a secret that cannot be decoded simply
/// never matches.
///
/// A value type; `verify` may be called from any thread or task.
public enum WebhookAuthenticator: Sendable {
    /// Standard Webhooks 1.0 (symmetric): headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
    /// `webhook-signature` (space-separated `v1,<base64>` entries; other versions are ignored). The signed content is
    /// `{id}.{timestamp}.{body}`, HMAC-SHA256 keyed by the base64-decoded part of a `whsec_<base64>` secret; the
    /// prefix is optional, as in the reference libraries. Any of several `secrets` may match (rotation).
    /// `tolerance` is in seconds, either side of `now`.
    case standardWebhooks(secrets: [String], tolerance: TimeInterval = 300)

    /// Stripe: header `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`; the signed payload is `{t}.{body}`,
    /// HMAC-SHA256 keyed by the whole signing secret as UTF-8 (Stripe does not base64-decode `whsec_…`). Only `v1`
    /// counts. `tolerance` is in seconds, either side of `now`.
    case stripe(secrets: [String], tolerance: TimeInterval = 300)

    /// `Authorization: Bearer <token>`, compared in constant time (SHA-256 digests) against each configured token.
    case bearer(tokens: [String])

    /// Twilio: `X-Twilio-Signature`, base64 HMAC-SHA1 keyed by the auth token over the public URL (with the request's
    /// query) and the sorted form parameters. `publicURL` is the URL configured at Twilio, without the query.
    case twilio(authTokens: [String], publicURL: String)

    /// SendGrid's Signed Event Webhook: ECDSA P-256/SHA-256 over `X-Twilio-Email-Event-Webhook-Timestamp` + body,
    /// verified with SendGrid's public key(s) (base64 DER SubjectPublicKeyInfo, or PEM).
    case sendgrid(publicKeys: [String], tolerance: TimeInterval = 300)

    /// The default timestamp tolerance of the signature schemes: 5 minutes either way.
    public static let defaultTolerance: TimeInterval = 300

    /// What a successful verification established.
    public struct Verified: Sendable, Equatable {
        /// The sender's unique id for the webhook (`webhook-id`), kept across retries: the key for replay checks.
        /// `nil` for Stripe (the event id is inside the body) and for bearer tokens.
        public let webhookID: String?
        /// The signed delivery timestamp, for the signature schemes; `nil` for bearer tokens.
        public let timestamp: Date?

        public init(webhookID: String?, timestamp: Date?) {
            self.webhookID = webhookID
            self.timestamp = timestamp
        }
    }

    /// Checks one request.
    ///
    /// - Parameters:
    ///   - headers: the request's headers, names lower-cased by the caller.
    ///   - body: the raw body bytes exactly as received (not re-serialised).
    ///   - now: the receiver's clock, for the timestamp window.
    ///   - query: the request's query string without '?', for schemes that sign the URL (Twilio).
    public func verify(headers: [String: String], body: [UInt8], now: Date, query: String? = nil) -> Result<Verified, WebhookAuthFailure> {
        switch self {
        case let .standardWebhooks(secrets, tolerance):
            return Self.verifyStandardWebhooks(headers: headers, body: body, now: now, secrets: secrets,
                                               tolerance: tolerance)
        case let .stripe(secrets, tolerance):
            return Self.verifyStripe(headers: headers, body: body, now: now, secrets: secrets, tolerance: tolerance)
        case let .bearer(tokens):
            return Self.verifyBearer(headers: headers, tokens: tokens)
        case let .sendgrid(keys, tolerance):
            return Self.verifySendGrid(headers: headers, body: body, now: now, publicKeys: keys, tolerance: tolerance)
        case let .twilio(tokens, publicURL):
            return Self.verifyTwilio(headers: headers, body: body, query: query, authTokens: tokens, publicURL: publicURL)
        }
    }
}
