import Foundation
import LuaRuntime
import Testing

/// JSONText.string: the fast path (nothing to escape) and the escaping path must both give JSON that reads back as
/// the same string, and U+2028/U+2029 are escaped (they end a line in JavaScript).
@Suite struct JSONTextTests {
    @Test(arguments: ["plain", "", "naïve café 🩺", "quote \" and \\ backslash", "nl\ncr\rtab\t", "nul\u{0}", "\u{1F}",
                      "line\u{2028}sep", "para\u{2029}sep", "\u{E2}\u{80}", "ends with \\"])
    func readsBackAsTheSameString(_ text: String) throws {
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(JSONText.string(text))]".utf8)) as? [String]
        #expect(decoded == [text])
    }

    @Test func escapesAreTheShortForms() {
        #expect(JSONText.string("a\"b\\c\nd") == #""a\"b\\c\nd""#)
        #expect(JSONText.string("\u{1}\u{2028}") == #""\u0001\u2028""#)
        #expect(JSONText.string("évidence") == "\"évidence\"")
    }
}
