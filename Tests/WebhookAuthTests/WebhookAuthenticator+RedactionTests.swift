import Foundation
import Testing
import WebhookAuth

@Suite struct RedactionTests {
    static let standardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let stripeSecret = "whsec_conflux_stripe_test_secret"
    static let token = "tok_alpha_0123456789abcdef"

    static let configurations: [(WebhookAuthenticator, secret: String)] = [
        (.standardWebhooks(secrets: [standardSecret, "whsec_Y29uZmx1eC1yb3RhdGlvbi10ZXN0LWtleS0wMDAwMDE="]),
         standardSecret),
        (.stripe(secrets: [stripeSecret], tolerance: 120), stripeSecret),
        (.bearer(tokens: [token]), token),
    ]

    static func renderings(_ auth: WebhookAuthenticator) -> [String] {
        var dumped = ""
        dump(auth, to: &dumped)
        return ["\(auth)", String(describing: auth), String(reflecting: auth), auth.debugDescription, dumped,
                "\([auth])", "\(Optional(auth) as Any)", String(describing: Mirror(reflecting: auth).children.map(\.value))]
    }

    @Test(arguments: 0..<3)
    func noRenderingContainsASecret(_ index: Int) {
        let (auth, secret) = Self.configurations[index]
        for text in Self.renderings(auth) {
            #expect(!text.contains(secret), "\(text)")
            #expect(!text.contains(String(secret.dropFirst(6).prefix(12))), "\(text)")  // not even a fragment
            #expect(text.contains("redacted"), "\(text)")
        }
    }

    @Test func descriptionsSayWhatIsConfigured() {
        #expect("\(Self.configurations[0].0)" == "standardWebhooks(secrets: <2 redacted>, tolerance: 300.0s)")
        #expect("\(Self.configurations[1].0)" == "stripe(secrets: <1 redacted>, tolerance: 120.0s)")
        #expect("\(Self.configurations[2].0)" == "bearer(tokens: <1 redacted>)")
    }

    @Test func validationReportsProblemsByPositionOnly() {
        let bad = WebhookAuthenticator.standardWebhooks(secrets: [Self.standardSecret, "whsec_not*base64*secret"],
                                                        tolerance: .nan)
        #expect(throws: WebhookAuthConfigurationError.self) { try bad.validate() }
        do {
            try bad.validate()
        } catch {
            #expect(error.problems.count == 2)
            #expect(error.description.contains("secret #2"))
            #expect(!error.description.contains("not*base64*secret"))
            #expect(error.description.contains("tolerance"))
        }

        #expect(throws: Never.self) { try Self.configurations[0].0.validate() }
        #expect(throws: Never.self) { try WebhookAuthenticator.standardWebhooks(secrets: ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]).validate() }
        #expect(throws: Never.self) { try Self.configurations[1].0.validate() }
        #expect(throws: Never.self) { try Self.configurations[2].0.validate() }
        #expect(throws: WebhookAuthConfigurationError.self) { try WebhookAuthenticator.stripe(secrets: []).validate() }
        #expect(throws: WebhookAuthConfigurationError.self) {
            try WebhookAuthenticator.bearer(tokens: ["ok", "has space"]).validate()
        }
        #expect(throws: WebhookAuthConfigurationError.self) { try WebhookAuthenticator.bearer(tokens: [""]).validate() }
    }

    @Test func failureCodesAreStable() {
        let codes: [WebhookAuthFailure.Code] = [.missingSignature, .malformedSignature, .timestampOutOfTolerance,
                                                .signatureMismatch, .missingToken, .tokenMismatch, .replayed]
        #expect(codes.map(\.rawValue) == ["missing_signature", "malformed_signature", "timestamp_out_of_tolerance",
                                          "signature_mismatch", "missing_token", "token_mismatch", "replayed"])
        let failure = WebhookAuthFailure(.tokenMismatch, header: "Authorization", message: "nope")
        #expect(failure.description == "token_mismatch: nope")
    }
}
