import Foundation
import Testing
import WebhookAuth

/// Vectors computed outside this code base. `Published` is the one in the Standard Webhooks repository
/// (github.com/standard-webhooks/standard-webhooks, `libraries/go/webhook_test.go` `TestWebhookSign` and
/// `libraries/javascript/src/webhook.test.ts` "sign function works"); `Rotated` was computed with Python's
/// `hmac`/`hashlib` over the same content layout.
enum StandardVectors {
    enum Published {
        static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
        static let timestamp = "1614265330"
        static let body = #"{"test": 2432232314}"#
        static let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        static let signedAt = Date(timeIntervalSince1970: 1_614_265_330)
        /// The signature the published key gives `{"test": 2432232315}` (Python), to check it is never echoed.
        static let tamperedBodyExpectedSignature = "TW/pFPJ2/LwRQdgfM7WklE9yJiRyMs0cTpVPK8leNAU="
    }

    enum Rotated {
        /// base64 of "conflux-rotation-test-key-000001".
        static let secret = "whsec_Y29uZmx1eC1yb3RhdGlvbi10ZXN0LWtleS0wMDAwMDE="
        static let id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
        static let timestamp = "1700000000"
        static let body = #"{"type":"contact.created"}"#
        static let signature = "v1,Qx5m8P+SzfSpP/b6V2ZpLpRgZ1PY09DjnUwIWKFtZik="
        static let signedAt = Date(timeIntervalSince1970: 1_700_000_000)
    }

    static func headers(id: String = Published.id, timestamp: String = Published.timestamp,
                        signature: String = Published.signature) -> [String: String]
    {
        ["webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature]
    }
}

@Suite struct StandardWebhooksTests {
    typealias P = StandardVectors.Published
    let auth = WebhookAuthenticator.standardWebhooks(secrets: [P.secret])

    func verify(_ auth: WebhookAuthenticator? = nil, headers: [String: String] = StandardVectors.headers(),
                body: String = P.body, now: Date = P.signedAt) -> Result<WebhookAuthenticator.Verified, WebhookAuthFailure>
    {
        (auth ?? self.auth).verify(headers: headers, body: Array(body.utf8), now: now)
    }

    func failure(_ result: Result<WebhookAuthenticator.Verified, WebhookAuthFailure>) -> WebhookAuthFailure? {
        if case let .failure(failure) = result { return failure }
        return nil
    }

    @Test func publishedVectorVerifiesAndCarriesTheID() throws {
        let verified = try verify().get()
        #expect(verified == WebhookAuthenticator.Verified(webhookID: P.id, timestamp: P.signedAt))
    }

    @Test func secretWithoutWhsecPrefixIsTheSameKey() throws {
        let raw = WebhookAuthenticator.standardWebhooks(secrets: ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        #expect(try verify(raw).get().webhookID == P.id)
    }

    @Test func independentlyComputedVectorVerifies() throws {
        typealias R = StandardVectors.Rotated
        let auth = WebhookAuthenticator.standardWebhooks(secrets: [R.secret])
        let headers = StandardVectors.headers(id: R.id, timestamp: R.timestamp, signature: R.signature)
        #expect(try verify(auth, headers: headers, body: R.body, now: R.signedAt).get().webhookID == R.id)
    }

    @Test func tamperedBodyIsAMismatchAndTheExpectedSignatureIsNotEchoed() {
        let failure = failure(verify(body: #"{"test": 2432232315}"#))
        #expect(failure?.code == .signatureMismatch)
        #expect(failure?.header == "webhook-signature")
        #expect(failure?.message.contains(P.tamperedBodyExpectedSignature) == false)
        #expect(failure?.message.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == false)
    }

    @Test func tamperedIDOrTimestampIsAMismatch() {
        #expect(failure(verify(headers: StandardVectors.headers(id: "msg_other")))?.code == .signatureMismatch)
        let shifted = StandardVectors.headers(timestamp: "1614265331")
        #expect(failure(verify(headers: shifted))?.code == .signatureMismatch)
    }

    @Test func wrongSecretIsAMismatch() {
        let other = WebhookAuthenticator.standardWebhooks(secrets: [StandardVectors.Rotated.secret])
        #expect(failure(verify(other))?.code == .signatureMismatch)
    }

    @Test func anySecretInRotationMatches() throws {
        let rotating = WebhookAuthenticator.standardWebhooks(secrets: [StandardVectors.Rotated.secret, P.secret])
        #expect(try verify(rotating).get().webhookID == P.id)
        let reversed = WebhookAuthenticator.standardWebhooks(secrets: [P.secret, StandardVectors.Rotated.secret])
        #expect(try verify(reversed).get().webhookID == P.id)
    }

    @Test func anyV1EntryInTheHeaderMayMatch() throws {
        // The reference libraries' "valid multi sig" case, plus an asymmetric entry.
        let header = [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
            P.signature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ].joined(separator: " ")
        #expect(try verify(headers: StandardVectors.headers(signature: header)).get().webhookID == P.id)
    }

    @Test func validSignatureUnderAnotherVersionIsIgnored() {
        let v2Only = "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        let failure = failure(verify(headers: StandardVectors.headers(signature: v2Only)))
        #expect(failure?.code == .signatureMismatch)
        #expect(failure?.message.contains("v1") == true)
        #expect(failure?.message.contains("g0hM9SsE") == false)
    }

    @Test func timestampToleranceIsFiveMinutesEitherWayInclusive() throws {
        #expect(try verify(now: P.signedAt.addingTimeInterval(300)).get().webhookID == P.id)
        #expect(try verify(now: P.signedAt.addingTimeInterval(-300)).get().webhookID == P.id)

        let old = failure(verify(now: P.signedAt.addingTimeInterval(301)))
        #expect(old?.code == .timestampOutOfTolerance)
        #expect(old?.header == "webhook-timestamp")
        #expect(old?.message.contains("301 s in the past") == true)

        let future = failure(verify(now: P.signedAt.addingTimeInterval(-301)))
        #expect(future?.code == .timestampOutOfTolerance)
        #expect(future?.message.contains("301 s in the future") == true)
    }

    @Test func toleranceIsConfigurable() throws {
        let strict = WebhookAuthenticator.standardWebhooks(secrets: [P.secret], tolerance: 10)
        #expect(try verify(strict, now: P.signedAt.addingTimeInterval(10)).get().webhookID == P.id)
        #expect(failure(verify(strict, now: P.signedAt.addingTimeInterval(11)))?.code == .timestampOutOfTolerance)
        let lax = WebhookAuthenticator.standardWebhooks(secrets: [P.secret], tolerance: 3600)
        #expect(try verify(lax, now: P.signedAt.addingTimeInterval(3000)).get().webhookID == P.id)
    }

    @Test func aNegativeToleranceFailsClosed() {
        let broken = WebhookAuthenticator.standardWebhooks(secrets: [P.secret], tolerance: -.infinity)
        #expect(failure(verify(broken, now: P.signedAt.addingTimeInterval(1)))?.code == .timestampOutOfTolerance)
        let nan = WebhookAuthenticator.standardWebhooks(secrets: [P.secret], tolerance: .nan)
        #expect(failure(verify(nan, now: P.signedAt.addingTimeInterval(1)))?.code == .timestampOutOfTolerance)
    }

    @Test(arguments: ["1614265330.0", "-1614265330", "+1614265330", " 1614265330", "16142653e3", "soon",
                      "9999999999999999999999"])
    func malformedTimestamp(_ timestamp: String) {
        let failure = failure(verify(headers: StandardVectors.headers(timestamp: timestamp)))
        #expect(failure?.code == .malformedSignature)
        #expect(failure?.header == "webhook-timestamp")
    }

    @Test(arguments: ["garbage", "v1", "v1,", ",g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1,not base64!",
                      "v1,dawfeoifkpqwoekfpqoekf", "v1,g0hM9SsE", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
                      "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,@@@"])
    func malformedSignatureHeader(_ header: String) {
        let failure = failure(verify(headers: StandardVectors.headers(signature: header)))
        #expect(failure?.code == .malformedSignature)
        #expect(failure?.header == "webhook-signature")
    }

    @Test(arguments: ["webhook-id", "webhook-timestamp", "webhook-signature"])
    func missingHeader(_ name: String) {
        var headers = StandardVectors.headers()
        headers[name] = nil
        let failure = failure(verify(headers: headers))
        #expect(failure?.code == .missingSignature)
        #expect(failure?.header == name)
        #expect(failure?.message.contains(name) == true)

        headers[name] = ""
        #expect(self.failure(verify(headers: headers))?.code == .missingSignature)
    }

    @Test func allHeadersMissingAreNamedTogether() {
        let failure = failure(verify(headers: [:]))
        #expect(failure?.code == .missingSignature)
        #expect(failure?.message.hasPrefix("Missing headers webhook-id, webhook-timestamp, webhook-signature.") == true)
    }

    @Test func headerNamesMustBeLowerCasedByTheCaller() {
        let upper = ["Webhook-Id": P.id, "Webhook-Timestamp": P.timestamp, "Webhook-Signature": P.signature]
        #expect(failure(verify(headers: upper))?.code == .missingSignature)
    }

    @Test func undecodableSecretNeverMatchesButOthersStillDo() throws {
        let mixed = WebhookAuthenticator.standardWebhooks(secrets: ["whsec_***not base64***", P.secret])
        #expect(try verify(mixed).get().webhookID == P.id)
        let onlyBad = WebhookAuthenticator.standardWebhooks(secrets: ["whsec_***not base64***"])
        #expect(failure(verify(onlyBad))?.code == .signatureMismatch)
    }
}
