@testable import LuaRuntime
import Foundation
import Testing

/// The response headers table `http.request` hands to Lua: merged by the host function and pushed by C as a table
/// (`HostValue.fields`), checked both as the bytes Swift hands over and as the table a plugin sees.
@Suite struct HTTPResponseHeadersTests {
    /// Answers every request with the given header fields.
    struct HeaderGateway: HTTPGateway {
        let headers: [(name: String, value: String)]
        func send(_ request: PluginHTTPRequest, plugin: String, correlationId: String?) async -> PluginHTTPResult {
            .response(status: 200, headers: headers, body: Array("ok".utf8))
        }
    }

    /// What the plugin sees: the headers table, re-encoded as JSON by the plugin.
    static func seenByLua(_ headers: [(name: String, value: String)]) async throws -> [String: String] {
        let folder = try TemporaryFolder()
        try folder.write("plugin.lua", """
            local http = require("http")
            return { kind = "connector", deliver = function(op, ctx)
              local res = http.request{ url = "http://partner.example/" }
              local n = 0
              for _ in pairs(res.headers) do n = n + 1 end
              res.headers["#"] = tostring(n)
              return res.headers
            end }
            """)
        let instance = try await PluginInstance.load(Plugin(name: "headers", folder: folder.url),
                                                     limits: try profile("production").limits, logger: testLogger,
                                                     http: HeaderGateway(headers: headers))
        guard case .json(let out) = try await instance.invoke("deliver", input: .json(Array("{}".utf8))) else { return [:] }
        return try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: String])
    }

    static func merged(_ headers: [(name: String, value: String)]) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in HostModules.headerFields(headers).pairs {
            result[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        return result
    }

    static let sample: [(name: String, value: String)] = [
        ("Content-Type", "application/json"), ("Via", "1.1 a"), ("VIA", "1.1 b"),
        ("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"), ("set-cookie", "b=2"),
    ]
    static let expected = [
        "content-type": "application/json", "via": "1.1 a, 1.1 b",
        "set-cookie": "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT\nb=2",
    ]

    @Test func namesAreLowerCasedAndRepeatedFieldsJoined() {
        #expect(Self.merged(Self.sample) == Self.expected)
        #expect(HostModules.headerFields(Self.sample).count == 3)
        #expect(HostModules.headerFields([]).count == 0)
    }

    @Test func pluginsSeeTheMergedTable() async throws {
        var expected = Self.expected
        expected["#"] = "3"
        #expect(try await Self.seenByLua(Self.sample) == expected)
        #expect(try await Self.seenByLua([]) == ["#": "0"])
    }

    @Test func valuesArriveByteForByte() async throws {
        // Quotes, backslashes, control characters, non-ASCII and an embedded NUL: nothing is escaped or cut, since
        // nothing goes through JSON text on the way in.
        let value = "quote \" backslash \\ tab \t bell \u{07} née ✓ nul \u{0} end"
        #expect(Self.merged([("X-Odd", value)]) == ["x-odd": value])
        #expect(try await Self.seenByLua([("X-Odd", value)]) == ["x-odd": value, "#": "1"])
    }

    @Test func aLargeHeaderSetBuildsOneTable() async throws {
        let many = (0..<500).map { (name: "X-Field-\($0)", value: String(repeating: "v", count: $0)) }
        let seen = try await Self.seenByLua(many)
        #expect(seen.count == 501)
        #expect(seen["x-field-499"] == String(repeating: "v", count: 499))
    }
}
