import Crypto
import Foundation

/// SendGrid's Signed Event Webhook (its "Event Webhook security features" documentation): an ECDSA P-256 signature
/// with SHA-256, base64 of ASN.1 DER, in `X-Twilio-Email-Event-Webhook-Signature`, over the value of
/// `X-Twilio-Email-Event-Webhook-Timestamp` followed by the raw body. The verification key is the public key SendGrid
/// shows, base64 of the DER SubjectPublicKeyInfo; several may be configured during a rotation. SendGrid documents no
/// timestamp window; the source's tolerance applies, as for the other schemes.
extension WebhookAuthenticator {
    static let sendGridSignatureHeader = "x-twilio-email-event-webhook-signature"
    static let sendGridTimestampHeader = "x-twilio-email-event-webhook-timestamp"

    static func sendGridKey(_ text: String) -> P256.Signing.PublicKey? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN"), let key = try? P256.Signing.PublicKey(pemRepresentation: trimmed) { return key }
        guard let der = Data(base64Encoded: trimmed) else { return nil }
        return try? P256.Signing.PublicKey(derRepresentation: der)
    }

    static func verifySendGrid(headers: [String: String], body: [UInt8], now: Date, publicKeys: [String],
                               tolerance: TimeInterval) -> Result<Verified, WebhookAuthFailure> {
        let signature = (headers[sendGridSignatureHeader] ?? "").trimmingSpaces()
        let timestampText = (headers[sendGridTimestampHeader] ?? "").trimmingSpaces()
        guard !signature.isEmpty else {
            return .failure(WebhookAuthFailure(.missingSignature, header: "X-Twilio-Email-Event-Webhook-Signature",
                                               message: "Missing header X-Twilio-Email-Event-Webhook-Signature (enable the Signed Event Webhook in SendGrid)."))
        }
        guard !timestampText.isEmpty else {
            return .failure(WebhookAuthFailure(.missingSignature, header: "X-Twilio-Email-Event-Webhook-Timestamp",
                                               message: "Missing header X-Twilio-Email-Event-Webhook-Timestamp."))
        }
        guard let timestamp = SignedTimestamp.parse(timestampText) else {
            return .failure(WebhookAuthFailure(.malformedSignature, header: "X-Twilio-Email-Event-Webhook-Timestamp",
                                               message: "X-Twilio-Email-Event-Webhook-Timestamp must be Unix seconds (digits only)."))
        }
        guard let der = Data(base64Encoded: String(signature)), let parsed = try? P256.Signing.ECDSASignature(derRepresentation: der) else {
            return .failure(WebhookAuthFailure(.malformedSignature, header: "X-Twilio-Email-Event-Webhook-Signature",
                                               message: "X-Twilio-Email-Event-Webhook-Signature is not the base64 of a DER ECDSA signature."))
        }
        if let failure = SignedTimestamp.check(timestamp, now: now, tolerance: tolerance,
                                               header: "X-Twilio-Email-Event-Webhook-Timestamp", label: "X-Twilio-Email-Event-Webhook-Timestamp ") {
            return .failure(failure)
        }
        let content = Data(timestampText.utf8) + Data(body)
        let matched = publicKeys.compactMap(sendGridKey).contains { $0.isValidSignature(parsed, for: content) }
        guard matched else {
            return .failure(WebhookAuthFailure(.signatureMismatch, header: "X-Twilio-Email-Event-Webhook-Signature",
                                               message: "The signature does not verify with the configured SendGrid verification key(s) over the timestamp and the raw body."))
        }
        return .success(Verified(webhookID: nil, timestamp: Date(timeIntervalSince1970: TimeInterval(timestamp))))
    }
}
