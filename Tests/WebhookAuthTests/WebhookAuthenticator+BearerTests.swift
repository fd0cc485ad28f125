import Foundation
import Testing
import WebhookAuth

@Suite struct BearerTests {
    static let tokens = ["tok_alpha_0123456789abcdef", "tok_beta_fedcba9876543210"]
    let auth = WebhookAuthenticator.bearer(tokens: Self.tokens)

    func verify(_ authorization: String?) -> Result<WebhookAuthenticator.Verified, WebhookAuthFailure> {
        var headers: [String: String] = [:]
        headers["authorization"] = authorization
        return auth.verify(headers: headers, body: Array("{}".utf8), now: Date())
    }

    func failure(_ authorization: String?) -> WebhookAuthFailure? {
        if case let .failure(failure) = verify(authorization) { return failure }
        return nil
    }

    @Test func eachConfiguredTokenIsAccepted() throws {
        for token in Self.tokens {
            #expect(try verify("Bearer \(token)").get() == WebhookAuthenticator.Verified(webhookID: nil, timestamp: nil))
        }
    }

    @Test func schemeIsCaseInsensitiveAndSurroundingSpaceIgnored() {
        #expect(throws: Never.self) { try verify("bearer \(Self.tokens[0])").get() }
        #expect(throws: Never.self) { try verify("  BEARER   \(Self.tokens[1]) ").get() }
    }

    @Test(arguments: ["Bearer tok_alpha_0123456789abcde", "Bearer tok_alpha_0123456789abcdef0",
                      "Bearer TOK_ALPHA_0123456789ABCDEF", "Bearer tok_gamma", "Bearer \(tokens[0]) \(tokens[1])"])
    func otherTokensAreRefused(_ authorization: String) {
        let failure = failure(authorization)
        #expect(failure?.code == .tokenMismatch)
        #expect(failure?.header == "Authorization")
        for token in Self.tokens { #expect(failure?.description.contains(token) == false) }
    }

    @Test func missingOrEmpty() {
        for authorization in [nil, "", "   ", "Bearer", "Bearer   "] as [String?] {
            let failure = failure(authorization)
            #expect(failure?.code == .missingToken, "\(String(describing: authorization))")
            #expect(failure?.header == "Authorization")
        }
    }

    @Test func basicSchemeIsNamedAndNotEchoed() {
        let failure = failure("Basic dG9rX2FscGhhXzAxMjM0NTY3ODlhYmNkZWY6")
        #expect(failure?.code == .missingToken)
        #expect(failure?.message.contains("Basic scheme") == true)
        #expect(failure?.message.contains("dG9rX2") == false)
    }

    @Test func aTokenWithoutSchemeIsNotEchoed() {
        let failure = failure(Self.tokens[0])
        #expect(failure?.code == .missingToken)
        #expect(failure?.message.contains(Self.tokens[0]) == false)
        #expect(failure?.message.contains("another scheme") == true)
    }

    @Test func emptyConfiguredTokensNeverMatch() {
        let empty = WebhookAuthenticator.bearer(tokens: ["", ""])
        let result = empty.verify(headers: ["authorization": "Bearer x"], body: [], now: Date())
        #expect(throws: WebhookAuthFailure.self) { try result.get() }
    }
}
