@testable import LuaRuntime
import Foundation
import Testing

/// The response headers table `http.request` hands to Lua, built as JSON bytes by the host function.
@Suite struct HTTPHeadersJSONTests {
    static func decode(_ headers: [(name: String, value: String)]) throws -> [String: String] {
        let bytes = HostModules.headersJSON(headers)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: String])
    }

    @Test func namesAreLowerCasedAndRepeatedFieldsJoined() throws {
        let decoded = try Self.decode([
            ("Content-Type", "application/json"), ("Via", "1.1 a"), ("VIA", "1.1 b"),
            ("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"), ("set-cookie", "b=2"),
        ])
        #expect(decoded == [
            "content-type": "application/json", "via": "1.1 a, 1.1 b",
            "set-cookie": "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT\nb=2",
        ])
    }

    @Test func valuesAreEscapedAndNonASCIISurvives() throws {
        let value = "quote \" backslash \\ tab \t bell \u{07} née ✓"
        #expect(try Self.decode([("X-Odd", value)]) == ["x-odd": value])
        #expect(String(decoding: HostModules.headersJSON([("X-Odd", "\u{07}")]), as: UTF8.self) == #"{"x-odd":"\u0007"}"#)
        #expect(String(decoding: HostModules.headersJSON([]), as: UTF8.self) == "{}")
    }
}
