@testable import Egress
import Foundation
import Testing

/// The host's half of secret handles: references (`\u{1}NAME\u{1}`) become values at send time, Basic credentials
/// (`secret.basic`) are encoded by the host, and nothing undeclared or malformed passes.
@Suite struct SecretSubstitutionTests {
    static let substitution = SecretSubstitution(plugin: "messaging", declared: ["messaging/auth_token"]) { name in
        guard name == "messaging/auth_token" else { throw CocoaError(.fileNoSuchFile) }
        return Array("tok:en/42".utf8)
    }

    static func text(_ result: Result<[UInt8], Substitution.Failure>) -> String {
        switch result {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(.refused(let message)), .failure(.failed(let message)): return "failure: " + message
        }
    }

    @Test func aReferenceBecomesTheValue() async {
        let out = await Self.substitution.apply(Array("Bearer \u{1}messaging/auth_token\u{1}".utf8), header: true)
        #expect(Self.text(out) == "Bearer tok:en/42")
    }

    @Test func aBasicReferenceIsUserColonValueInBase64() async {
        let out = await Self.substitution.apply(Array("Basic \u{1}messaging/auth_token#basic:AC0123\u{1}".utf8), header: true)
        #expect(Self.text(out) == "Basic " + Data("AC0123:tok:en/42".utf8).base64EncodedString())
        #expect(Self.text(out) == "Basic QUMwMTIzOnRvazplbi80Mg==")
    }

    @Test func anUndeclaredOrMalformedReferenceIsRefused() async {
        let undeclared = await Self.substitution.apply(Array("\u{1}other/token#basic:AC0123\u{1}".utf8), header: true)
        #expect(Self.text(undeclared).contains("secret other/token is not declared in plugin messaging"))
        let malformed = await Self.substitution.apply(Array("\u{1}messaging/auth_token#plain:x\u{1}".utf8), header: true)
        #expect(Self.text(malformed) == "failure: http.request: a malformed secret reference")
        let unpaired = await Self.substitution.apply(Array("\u{1}messaging/auth_token".utf8), header: true)
        #expect(Self.text(unpaired) == "failure: http.request: a malformed secret reference")
    }
}
