import Foundation
import Testing
@testable import LuaRuntime

@Suite struct HostModulesTests {
    @Test func sha256AndHMACMatchPublishedVectors() async throws {
        // FIPS 180-2 "abc"; RFC 4231 test case 2.
        #expect(try await evaluate("""
            local crypto = require("crypto")
            return { crypto.sha256("abc"), crypto.hmac_sha256("Jefe", "what do ya want for nothing?") }
            """) == #"["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"]"#)
    }

    @Test func base64AndHexRoundTripBytes() async throws {
        #expect(try await evaluate("""
            local crypto = require("crypto")
            local bytes = "\\0\\1\\255 hello"
            local bad, why = crypto.base64_decode("@@@")
            return { crypto.base64_encode("hello"), crypto.base64_decode(crypto.base64_encode(bytes)) == bytes,
                     crypto.hex_encode("\\1\\171"), crypto.hex_decode("01ab") == "\\1\\171", bad == nil, why }
            """) == #"["aGVsbG8=",true,"01ab",true,true,"invalid base64"]"#)
    }

    @Test func uuidsAreRandomVersion4() async throws {
        let result = try await evaluate("""
            local crypto = require("crypto")
            local a, b = crypto.uuid(), crypto.uuid()
            return { a ~= b, a:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil }
            """)
        #expect(result == "[true,true]")
    }

    @Test func constantTimeEqual() async throws {
        #expect(try await evaluate("""
            local c = require("crypto")
            return { c.constant_time_equal("abc", "abc"), c.constant_time_equal("abc", "abd"), c.constant_time_equal("abc", "ab") }
            """) == "[true,false,false]")
    }

    @Test func timeFormatsAndParsesISO8601() async throws {
        #expect(try await evaluate("""
            local time = require("time")
            local parsed = time.parse_iso8601("2026-11-21T09:41:07Z")
            local bad, why = time.parse_iso8601("yesterday")
            return { time.iso8601(0), parsed, time.iso8601(parsed), bad == nil, why ~= nil, time.now() > 1.7e9 }
            """) == #"["1970-01-01T00:00:00Z",1795254067.0,"2026-11-21T09:41:07Z",true,true,true]"#)
    }

    @Test func sleepRejectsOutOfRangeArguments() async throws {
        let error = try await failure(of: "require('time').sleep(-1)")
        #expect(error.kind == .runtime)
        #expect(error.message.contains("between 0 and 60000"))
        #expect(error.location == "test.lua:1")
    }

    @Test func hostFunctionArgumentErrorsNameTheFunction() async throws {
        let error = try await failure(of: "return require('crypto').sha256({})")
        #expect(error.message.contains("crypto.sha256"))
        #expect(error.message.contains("string expected, got table"))
    }

    @Test func logModuleAcceptsFields() async throws {
        #expect(try await evaluate("""
            local log = require("log")
            log.info("mapped", { invoice = "INV/1" })
            log.warn("plain")
            print("to the host log", 1, true)
            return true
            """) == "true")
    }

    @Test func requireLoadsModulesOfThePluginFolderOnly() async throws {
        let folder = try TemporaryFolder()
        try folder.write("plugin.lua", "local codes = require('lib.codes') return { kind = 'mapping', map = function(e) return codes[e.code] end }")
        try folder.write("lib/codes.lua", "return { ['99213'] = 101 }")
        let instance = try await PluginInstance.load(Plugin(name: "uses-lib", folder: folder.url), limits: try profile("production").limits, logger: testLogger)
        guard case .json(let out) = try await instance.invoke("map", input: .json(Array(#"{"code":"99213"}"#.utf8))) else {
            Issue.record("no result")
            return
        }
        #expect(String(decoding: out, as: UTF8.self) == "101")

        let state = try makeState(root: folder.url)
        defer { state.close() }
        for (source, expected) in [("require('../etc/passwd')", "invalid module name"), ("require('io')", "not available"),
                                   ("require('missing')", "not found")] {
            let chunk = try state.compile(source: Array(source.utf8), chunkName: "r.lua")
            await #expect { _ = try await state.run(chunk, arguments: []) } throws: { error in
                (error as? LuaError)?.message.contains(expected) == true
            }
        }
    }

    @Test func fixturesCannotLeaveThePluginFolder() async throws {
        let folder = try TemporaryFolder()
        try folder.write("fixtures/a.json", "{}")
        let state = try makeState(root: folder.url)
        defer { state.close() }
        let ok = try state.compile(source: Array("return require('fixtures').read('fixtures/a.json')".utf8), chunkName: "f.lua")
        guard case .json(let text) = try await state.run(ok, arguments: []) else { Issue.record("no result"); return }
        #expect(String(decoding: text, as: UTF8.self) == #""{}""#)
        for path in ["../x", "/etc/passwd", "fixtures/../../x"] {
            let chunk = try state.compile(source: Array("return require('fixtures').read('\(path)')".utf8), chunkName: "f.lua")
            await #expect(throws: LuaError.self) { _ = try await state.run(chunk, arguments: []) }
        }
    }
}
