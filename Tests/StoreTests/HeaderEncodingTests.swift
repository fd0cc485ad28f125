import Foundation
import Store
@testable import StoreSQLite
import Testing

/// The hand-written JSON of the hot path (headers kept with each message, ids in audit records) against Foundation's.
@Suite struct HeaderEncodingTests {
    static let awkward = ["plain", "", "quote \" inside", "back\\slash", "tab\there", "nul\u{0}byte", "\u{1F}unit",
                          "naïve café", "emoji 🩺", "line\nbreak", "ends with \\"]

    @Test(arguments: awkward)
    func quoteIsValidJSONThatReadsBackTheSameString(_ text: String) throws {
        let quoted = AuditDetail.quote(text)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(decoded == [text])
    }

    @Test func controlCharactersAreWrittenAsLowercaseUnicodeEscapes() {
        #expect(AuditDetail.quote("a\u{1}b\u{1F}") == #""a\u0001b\u001f""#)
        #expect(AuditDetail.quote("x\"y\\z") == #""x\"y\\z""#)
    }

    @Test func headersRoundTripThroughTheStoreEncoding() {
        var headers: [String: String] = [:]
        for (index, value) in Self.awkward.enumerated() { headers["h\(index)"] = value }
        #expect(SQLiteMessageStore.decodeHeaders(SQLiteMessageStore.encodeHeaders(headers)) == headers)
        let simple = ["content-type": "application/json", ":query": "a=1&b=2", "x-id": "naïve"]
        #expect(SQLiteMessageStore.flatStringObject(SQLiteMessageStore.encodeHeaders(simple)) == simple)
        #expect(SQLiteMessageStore.decodeHeaders("{}") == [:])
    }

    @Test(arguments: [#"{"a":"b""#, #"{"a" "b"}"#, #"{"a":"b",}"#, #"{"a":"b"}x"#, #"["a"]"#, #"{"a":1}"#, "{\"a\":\"tab\there\"}"])
    func theFastReaderRefusesWhatItDoesNotWrite(_ text: String) {
        #expect(SQLiteMessageStore.flatStringObject(text) == nil)
    }
}
