import Foundation
@testable import Pipeline
import Testing

@Suite struct JSONSyntaxTests {
    static let valid = [
        "{}", "[]", "0", "-0.5e+10", "\"x\"", "true", "null", #"{"a":[1,2,{"b":null}],"c":"\u00e9\n"}"#,
        " \n[ 1 , 2 ]\t", #"["é", "日本", "🙂"]"#, #"{"":""}"#, "1E5", "[-0]",
    ]
    static let invalid = [
        "", "{", "[1,]", #"{"a":1,}"#, "{a:1}", "01", "1.", "-", ".5", "1e", "tru", "nul", #""\x""#, #""\u12G4""#,
        "\"a\u{01}b\"", "[1] [2]", #"{"a" 1}"#, "\"unterminated", "+1", "NaN", "[\"\\\"]",
    ]

    @Test(arguments: valid)
    func acceptsValidJSON(text: String) {
        #expect(JSONSyntax.validate(Array(text.utf8)) == nil)
        // Agrees with Foundation's parser.
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil)
    }

    @Test(arguments: invalid)
    func refusesInvalidJSONWithAnOffset(text: String) {
        let failure = JSONSyntax.validate(Array(text.utf8))
        #expect(failure != nil, "accepted \(text)")
        #expect((failure?.offset ?? -1) <= text.utf8.count)
    }

    @Test(arguments: [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF], [0x80]] as [[UInt8]])
    func refusesInvalidUTF8InStrings(sequence: [UInt8]) {
        let bytes = Array("[\"".utf8) + sequence + Array("\"]".utf8)
        #expect(JSONSyntax.validate(bytes)?.reason.contains("UTF-8") == true)
    }

    @Test func boundsNesting() {
        #expect(JSONSyntax.validate(Array((String(repeating: "[", count: 600) + String(repeating: "]", count: 600)).utf8))?
            .reason.contains("nesting") == true)
        #expect(JSONSyntax.validate(Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)) == nil)
    }
}
