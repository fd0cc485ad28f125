import Foundation
import Testing
@testable import WebhookAuth

/// Twilio's request validation, checked against the worked example of Twilio's security documentation (auth token
/// 12345, the Gather POST to https://mycompany.com/myapp.php?foo=1&bar=2, signature RSOYDt4T1cUTdK1PDd93/VVr8B8=).
@Suite struct TwilioTests {
    static let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
    let auth = WebhookAuthenticator.twilio(authTokens: ["rotated-old-token", "12345"], publicURL: "https://mycompany.com/myapp.php")

    func verify(_ signature: String?, body: String = Self.body, query: String? = "foo=1&bar=2") -> Result<WebhookAuthenticator.Verified, WebhookAuthFailure> {
        var headers: [String: String] = [:]
        headers["x-twilio-signature"] = signature
        return auth.verify(headers: headers, body: Array(body.utf8), now: Date(), query: query)
    }

    func code(_ result: Result<WebhookAuthenticator.Verified, WebhookAuthFailure>) -> String? {
        if case let .failure(failure) = result { return failure.code.rawValue }
        return nil
    }

    @Test func theDocumentedExampleVerifies() throws {
        #expect(throws: Never.self) { try verify("RSOYDt4T1cUTdK1PDd93/VVr8B8=").get() }
        // Parameter order in the body does not matter: Twilio signs them sorted by name.
        let shuffled = "To=%2B18005551212&Digits=1234&CallSid=CA1234567890ABCDE&From=%2B14158675309&Caller=%2B14158675309"
        #expect(throws: Never.self) { try verify("RSOYDt4T1cUTdK1PDd93/VVr8B8=", body: shuffled).get() }
    }

    /// Twilio may sign the URL with the scheme's default port written out; its own validators accept both forms.
    @Test func theDefaultPortMayBeWrittenOrNot() {
        #expect(throws: Never.self) { try verify("kvajT1Ptam85bY51eRf/AJRuM3w=").get() }
        let withPort = WebhookAuthenticator.twilio(authTokens: ["12345"], publicURL: "https://mycompany.com:443/myapp.php")
        #expect(throws: Never.self) {
            try withPort.verify(headers: ["x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="], body: Array(Self.body.utf8), now: Date(), query: "foo=1&bar=2").get()
        }
        #expect(WebhookAuthenticator.urlVariants("http://127.0.0.1:8080/ingest/x") == ["http://127.0.0.1:8080/ingest/x"])
    }

    @Test func anyChangeToURLQueryOrParametersFails() {
        #expect(code(verify("RSOYDt4T1cUTdK1PDd93/VVr8B8=", query: "foo=1&bar=3")) == "signature_mismatch")
        #expect(code(verify("RSOYDt4T1cUTdK1PDd93/VVr8B8=", query: nil)) == "signature_mismatch")
        #expect(code(verify("RSOYDt4T1cUTdK1PDd93/VVr8B8=", body: Self.body.replacingOccurrences(of: "1234&", with: "1235&"))) == "signature_mismatch")
        #expect(code(verify("RSOYDt4T1cUTdK1PDd93/VVr8B8=", body: Self.body + "&Extra=1")) == "signature_mismatch")
    }

    @Test func missingOrMalformedSignaturesAreNamed() {
        #expect(code(verify(nil)) == "missing_signature")
        #expect(code(verify("not base64!")) == "malformed_signature")
        #expect(code(verify(Data("short".utf8).base64EncodedString())) == "malformed_signature")
    }

    @Test func theDescriptionHidesTokens() {
        #expect("\(auth)" == "twilio(authTokens: <2 redacted>, publicURL: https://mycompany.com/myapp.php)")
        #expect(!String(reflecting: auth).contains("12345"))
    }
}
