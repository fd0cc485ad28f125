import Foundation
import Testing
import WebhookAuth

/// Stripe publishes no secret/payload/signature triple, so these were computed with
/// `printf '%s' '1700000000.{"id":"evt_1","object":"event"}' | openssl dgst -sha256 -hmac '<secret>' -hex`
/// (the key is the whole secret string, as Stripe's libraries use it).
@Suite struct StripeTests {
    static let secret = "whsec_conflux_stripe_test_secret"
    static let rotatedSecret = "whsec_conflux_stripe_rotated_secret"
    static let timestamp = "1700000000"
    static let signedAt = Date(timeIntervalSince1970: 1_700_000_000)
    static let body = #"{"id":"evt_1","object":"event"}"#
    static let v1 = "86c18ac49007b91db3a5f63e65cc1de53575b9b9e99878a2cd10bd08003c3c23"
    static let v1Rotated = "f027382c8525542960c01932ca5e2aee240a022743473cee9f1b7ef505d55dc3"

    let auth = WebhookAuthenticator.stripe(secrets: [Self.secret])

    func verify(_ header: String?, auth: WebhookAuthenticator? = nil, body: String = Self.body,
                now: Date = Self.signedAt) -> Result<WebhookAuthenticator.Verified, WebhookAuthFailure>
    {
        var headers: [String: String] = ["content-type": "application/json"]
        headers["stripe-signature"] = header
        return (auth ?? self.auth).verify(headers: headers, body: Array(body.utf8), now: now)
    }

    func failure(_ result: Result<WebhookAuthenticator.Verified, WebhookAuthFailure>) -> WebhookAuthFailure? {
        if case let .failure(failure) = result { return failure }
        return nil
    }

    @Test func validSignatureVerifiesWithoutAnID() throws {
        let verified = try verify("t=\(Self.timestamp),v1=\(Self.v1)").get()
        #expect(verified == WebhookAuthenticator.Verified(webhookID: nil, timestamp: Self.signedAt))
    }

    @Test func anyV1ElementMayMatchAndV0IsIgnored() throws {
        let header = "t=\(Self.timestamp),v1=\(String(repeating: "0", count: 64)),v1=\(Self.v1),v0=\(Self.v1Rotated)"
        #expect(throws: Never.self) { try verify(header).get() }
        #expect(throws: Never.self) { try verify("t=\(Self.timestamp), v1=\(Self.v1.uppercased())").get() }
    }

    @Test func rotationAcceptsEitherSecret() throws {
        let rotating = WebhookAuthenticator.stripe(secrets: [Self.rotatedSecret, Self.secret])
        #expect(throws: Never.self) { try verify("t=\(Self.timestamp),v1=\(Self.v1)", auth: rotating).get() }
        #expect(throws: Never.self) { try verify("t=\(Self.timestamp),v1=\(Self.v1Rotated)", auth: rotating).get() }
        #expect(failure(verify("t=\(Self.timestamp),v1=\(Self.v1Rotated)"))?.code == .signatureMismatch)
    }

    @Test func invalidSignatureTamperedBodyOrTimestampIsAMismatch() {
        let wrong = String(Self.v1.dropLast()) + "4"
        let failure = failure(verify("t=\(Self.timestamp),v1=\(wrong)"))
        #expect(failure?.code == .signatureMismatch)
        #expect(failure?.header == "Stripe-Signature")
        #expect(failure?.message.contains(Self.secret) == false)
        #expect(failure?.message.contains(Self.v1) == false)

        let tampered = verify("t=\(Self.timestamp),v1=\(Self.v1)", body: #"{"id":"evt_2","object":"event"}"#)
        #expect(self.failure(tampered)?.code == .signatureMismatch)
        let shifted = verify("t=1700000001,v1=\(Self.v1)", now: Self.signedAt)
        #expect(self.failure(shifted)?.code == .signatureMismatch)
    }

    @Test func onlyV0IsAMismatch() {
        let failure = failure(verify("t=\(Self.timestamp),v0=\(Self.v1)"))
        #expect(failure?.code == .signatureMismatch)
        #expect(failure?.message.contains("no v1") == true)
    }

    @Test func toleranceIsFiveMinutesEitherWay() throws {
        let header = "t=\(Self.timestamp),v1=\(Self.v1)"
        #expect(throws: Never.self) { try verify(header, now: Self.signedAt.addingTimeInterval(300)).get() }
        #expect(throws: Never.self) { try verify(header, now: Self.signedAt.addingTimeInterval(-300)).get() }
        let old = failure(verify(header, now: Self.signedAt.addingTimeInterval(301)))
        #expect(old?.code == .timestampOutOfTolerance)
        #expect(old?.message.hasPrefix("Stripe-Signature t=1700000000 is 301 s in the past") == true)
        #expect(failure(verify(header, now: Self.signedAt.addingTimeInterval(-301)))?.code == .timestampOutOfTolerance)

        let lax = WebhookAuthenticator.stripe(secrets: [Self.secret], tolerance: 900)
        #expect(throws: Never.self) { try verify(header, auth: lax, now: Self.signedAt.addingTimeInterval(900)).get() }
    }

    @Test func missingHeader() {
        for header in [nil, ""] as [String?] {
            let failure = failure(verify(header))
            #expect(failure?.code == .missingSignature)
            #expect(failure?.header == "Stripe-Signature")
        }
    }

    @Test(arguments: ["garbage", "v1=\(v1)", "t=soon,v1=\(v1)", "t=-1700000000,v1=\(v1)",
                      "t=1700000000,t=1700000000,v1=\(v1)", "t=1700000000,v1=xyz", "t=1700000000,v1=\(v1.prefix(62))"])
    func malformedHeader(_ header: String) {
        let failure = failure(verify(header))
        #expect(failure?.code == .malformedSignature)
        #expect(failure?.header == "Stripe-Signature")
    }
}
