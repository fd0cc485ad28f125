import Crypto
import Foundation
import Testing
@testable import WebhookAuth

/// SendGrid's Signed Event Webhook: ECDSA P-256 over the timestamp header's text followed by the raw body.
@Suite struct SendGridTests {
    /// A fixed key (the key type is not Sendable, so it is rebuilt from its bytes).
    static let raw = Data((1...32).map { UInt8($0) })
    static var key: P256.Signing.PrivateKey { try! P256.Signing.PrivateKey(rawRepresentation: raw) }
    static let body = #"[{"email":"j.doe@example.org","timestamp":1795300000,"event":"delivered","sg_event_id":"ev1","sg_message_id":"abc.filter1","ref":"APT-1:confirmation"}]"#
    let now = Date(timeIntervalSince1970: 1_795_300_010)
    var auth: WebhookAuthenticator { .sendgrid(publicKeys: [Self.key.publicKey.derRepresentation.base64EncodedString()], tolerance: 300) }

    func headers(timestamp: String = "1795300005", body: String = Self.body, key: P256.Signing.PrivateKey = Self.key) throws -> [String: String] {
        let signature = try key.signature(for: Data(timestamp.utf8) + Data(body.utf8)).derRepresentation.base64EncodedString()
        return ["x-twilio-email-event-webhook-signature": signature, "x-twilio-email-event-webhook-timestamp": timestamp]
    }

    func code(_ result: Result<WebhookAuthenticator.Verified, WebhookAuthFailure>) -> String? {
        if case let .failure(failure) = result { return failure.code.rawValue }
        return nil
    }

    @Test func aSignedBatchVerifies() throws {
        let verified = try auth.verify(headers: try headers(), body: Array(Self.body.utf8), now: now).get()
        #expect(verified.timestamp == Date(timeIntervalSince1970: 1_795_300_005))
        // A PEM key (as some consoles show it) works too.
        let pem = WebhookAuthenticator.sendgrid(publicKeys: [Self.key.publicKey.pemRepresentation], tolerance: 300)
        #expect(throws: Never.self) { try pem.verify(headers: try headers(), body: Array(Self.body.utf8), now: now).get() }
    }

    @Test func aChangedBodyAnotherKeyOrAnOldTimestampFails() throws {
        #expect(code(auth.verify(headers: try headers(), body: Array(Self.body.replacingOccurrences(of: "delivered", with: "bounce").utf8), now: now)) == "signature_mismatch")
        #expect(code(auth.verify(headers: try headers(key: P256.Signing.PrivateKey()), body: Array(Self.body.utf8), now: now)) == "signature_mismatch")
        #expect(code(auth.verify(headers: try headers(timestamp: "1795290000"), body: Array(Self.body.utf8), now: now)) == "timestamp_out_of_tolerance")
        var swapped = try headers()
        swapped["x-twilio-email-event-webhook-timestamp"] = "1795300006"
        #expect(code(auth.verify(headers: swapped, body: Array(Self.body.utf8), now: now)) == "signature_mismatch")
    }

    @Test func missingAndMalformedHeadersAreNamed() throws {
        #expect(code(auth.verify(headers: [:], body: Array(Self.body.utf8), now: now)) == "missing_signature")
        var bad = try headers()
        bad["x-twilio-email-event-webhook-signature"] = "bm90IGEgc2lnbmF0dXJl"
        #expect(code(auth.verify(headers: bad, body: Array(Self.body.utf8), now: now)) == "malformed_signature")
        bad = try headers()
        bad["x-twilio-email-event-webhook-timestamp"] = "-5"
        #expect(code(auth.verify(headers: bad, body: Array(Self.body.utf8), now: now)) == "malformed_signature")
    }

    @Test func aKeyThatIsNotAP256PublicKeyIsAConfigurationError() {
        #expect(throws: WebhookAuthConfigurationError.self) { try WebhookAuthenticator.sendgrid(publicKeys: ["not a key"], tolerance: 300).validate() }
        #expect(throws: Never.self) { try auth.validate() }
    }
}
