@testable import Egress
import Foundation
import Testing

/// The host's half of secret handles: references (`\u{1}NAME\u{1}`) become values at send time, Basic credentials
/// (`secret.basic`) are encoded by the host, `secret.json` and `secret.form` values are escaped for where they go, and
/// nothing undeclared or malformed passes.
@Suite struct SecretSubstitutionTests {
    /// A password as people choose them: a quote, a backslash, a newline, a tab, a control byte, a space, `&` and `=`,
    /// a non-ASCII letter.
    static let awkward = Array("p\"a\\ss\nw\u{7}rd é&=+ \t".utf8)
    static let awkwardSubstitution = SecretSubstitution(plugin: "odoo", declared: ["odoo/api_key", "odoo/binary"]) { name in
        name == "odoo/binary" ? [0x61, 0xFF, 0x62] : awkward
    }

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

    @Test func aJSONReferenceIsEscapedSoTheBodyStaysTheJSONThePluginBuilt() async throws {
        let template = #"{"params":{"args":["clinic",2,"\#u{1}odoo/api_key#json\#u{1}"]}}"#
        let body = try #require(try? await Self.awkwardSubstitution.apply(Array(template.utf8), header: false).get())
        #expect(String(decoding: body, as: UTF8.self) == #"{"params":{"args":["clinic",2,"p\"a\\ss\nw\u0007rd é&=+ \t"]}}"#)
        // Decoded by a JSON parser, the string is the secret's value byte for byte.
        let decoded = try JSONSerialization.jsonObject(with: Data(body)) as? [String: [String: [Any]]]
        #expect((decoded?["params"]?["args"]?[2] as? String).map { Array($0.utf8) } == Self.awkward)
    }

    @Test func aFormReferenceIsPercentEncoded() async {
        let out = await Self.awkwardSubstitution.apply(Array("grant_type=password&password=\u{1}odoo/api_key#form\u{1}".utf8), header: false)
        #expect(Self.text(out) == "grant_type=password&password=p%22a%5Css%0Aw%07rd%20%C3%A9%26%3D%2B%20%09")
        #expect(Self.text(out).removingPercentEncoding == "grant_type=password&password=" + String(decoding: Self.awkward, as: UTF8.self))
    }

    @Test func aValueThatWouldSplitAHeaderIsRefusedUnlessEncoded() async {
        let plain = await Self.awkwardSubstitution.apply(Array("Bearer \u{1}odoo/api_key\u{1}".utf8), header: true)
        #expect(Self.text(plain) == "failure: http.request: secret odoo/api_key contains CR, LF or NUL and cannot go in a header")
        let escaped = await Self.awkwardSubstitution.apply(Array("Bearer \u{1}odoo/api_key#form\u{1}".utf8), header: true)
        #expect(Self.text(escaped) == "Bearer p%22a%5Css%0Aw%07rd%20%C3%A9%26%3D%2B%20%09")
    }

    @Test func aValueThatIsNotUTF8CannotGoInAJSONString() async {
        let out = await Self.awkwardSubstitution.apply(Array("[\"\u{1}odoo/binary#json\u{1}\"]".utf8), header: false)
        #expect(Self.text(out) == "failure: http.request: secret odoo/binary is not UTF-8 text and cannot go in a JSON string (secret.json)")
        #expect(!Self.text(out).contains("\u{FF}"))
        let unknown = await Self.awkwardSubstitution.apply(Array("\u{1}odoo/api_key#xml\u{1}".utf8), header: false)
        #expect(Self.text(unknown) == "failure: http.request: a malformed secret reference")
    }
}
