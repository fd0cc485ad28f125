import Foundation
import Pipeline
import Synchronization
import WebhookAuth

/// Verifies webhooks for the sources whose flow declares `auth`, with secrets opened from the vault — kept for 30
/// seconds, so a rotation (`conflux secrets rotate`) takes effect without a restart and a busy source does not open a
/// secret per request. Stripe deliveries carry no id, so a repeat of a signature within the tolerance is refused
/// here; Standard Webhooks deliveries are deduplicated durably by their signed `webhook-id`.
public final class SourceAuthentication: Sendable {
    private let reveal: @Sendable (String) async throws -> [UInt8]
    private let cache = Mutex<[String: (authenticator: WebhookAuthenticator, until: Date)]>([:])
    private let replays = ReplayGuard()

    public init(reveal: @escaping @Sendable (String) async throws -> [UInt8]) {
        self.reveal = reveal
    }

    public enum Outcome: Sendable {
        case accepted
        /// 401 with a code and a message the partner's engineer can act on.
        case refused(code: String, message: String)
        /// The secrets could not be opened: 503, the partner retries.
        case unavailable(String)
    }

    public func verify(_ auth: FlowDefinition.Auth, source: String, headers: [String: String], body: [UInt8], query: String? = nil,
                       now: Date = Date()) async -> Outcome {
        let authenticator: WebhookAuthenticator
        if let cached = cache.withLock({ $0[source] }), cached.until > now {
            authenticator = cached.authenticator
        } else {
            var values: [String] = []
            for name in auth.secrets {
                do { values.append(String(decoding: try await reveal(name), as: UTF8.self)) } catch {
                    return .unavailable("the webhook secret \(name) of source \(source) cannot be opened: \(error)")
                }
            }
            let tolerance = TimeInterval(auth.toleranceSeconds)
            switch auth.scheme {
            case .standardWebhooks: authenticator = .standardWebhooks(secrets: values, tolerance: tolerance)
            case .stripe: authenticator = .stripe(secrets: values, tolerance: tolerance)
            case .bearer: authenticator = .bearer(tokens: values)
            case .sendgrid: authenticator = .sendgrid(publicKeys: values, tolerance: tolerance)
            case .twilio: authenticator = .twilio(authTokens: values, publicURL: auth.publicURL ?? "")
            }
            cache.withLock { $0[source] = (authenticator, now.addingTimeInterval(30)) }
        }
        switch authenticator.verify(headers: headers, body: body, now: now, query: query) {
        case .failure(let failure):
            return .refused(code: failure.code.rawValue, message: failure.message)
        case .success:
            if auth.scheme == .stripe, let signature = headers["stripe-signature"],
               !replays.firstSeen(signature, source: source, at: now) {
                return .refused(code: "replayed", message: "this Stripe-Signature was already accepted; a delivery is accepted once")
            }
            return .accepted
        }
    }
}
