/// Why a webhook was refused: a stable `code` for machines and a `message` a partner's engineer can act on.
///
/// A struct over a private code enum, so adding a code breaks no caller. Messages name the header concerned and what
/// was expected; they never contain a secret, a token or the signature we computed, and they echo nothing from the
/// request except an already-validated integer timestamp.
public struct WebhookAuthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case missingSignature = "missing_signature"
            case malformedSignature = "malformed_signature"
            case timestampOutOfTolerance = "timestamp_out_of_tolerance"
            case signatureMismatch = "signature_mismatch"
            case missingToken = "missing_token"
            case tokenMismatch = "token_mismatch"
            case replayed = "replayed"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A header the scheme requires (signature, id or timestamp) is absent or empty.
        public static let missingSignature = Code(.missingSignature)
        /// The signature or timestamp header is present but cannot be parsed.
        public static let malformedSignature = Code(.malformedSignature)
        /// The signed timestamp is further from the receiver's clock than the tolerance.
        public static let timestampOutOfTolerance = Code(.timestampOutOfTolerance)
        /// Well-formed, but no supported signature matches any configured secret.
        public static let signatureMismatch = Code(.signatureMismatch)
        /// No `Authorization: Bearer <token>` credential.
        public static let missingToken = Code(.missingToken)
        /// A bearer token that is not one of the configured tokens.
        public static let tokenMismatch = Code(.tokenMismatch)
        /// A webhook id already accepted for this source inside the replay window (`ReplayGuard`).
        public static let replayed = Code(.replayed)

        /// The stable snake_case string, e.g. `signature_mismatch`.
        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The header concerned, spelled as partners' documentation spells it (`webhook-signature`, `Stripe-Signature`,
    /// `Authorization`); `nil` when no single header is at fault.
    public let header: String?
    /// What was wrong and what was expected.
    public let message: String

    public init(_ code: Code, header: String?, message: String) {
        self.code = code
        self.header = header
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
