import Foundation
import Testing
@testable import LuaRuntime

/// JSON ↔ Lua, through the same path the host uses: bytes decoded into the invocation's coroutine, the result encoded
/// back to bytes.
@Suite struct JSONMarshallingTests {
    /// Passes `input` through an identity hook and returns what comes out.
    private func roundTrip(_ input: String, profile profileName: String = "production") throws -> Result<String, LuaError> {
        let state = try makeState(profileName)
        defer { state.close() }
        let chunk = try state.compile(source: Array("return function(v) return v end".utf8), chunkName: "identity.lua")
        guard case .value(let function) = try state.runSynchronously(chunk, arguments: [], resultMode: .keep) else {
            fatalError("identity chunk returned nothing")
        }
        do {
            switch try state.runSynchronously(LuaFunctionRef(ref: function.ref), arguments: [.json(Array(input.utf8))]) {
            case .json(let bytes): return .success(String(decoding: bytes, as: UTF8.self))
            default: return .success("nil")
            }
        } catch {
            return .failure(error)
        }
    }

    @Test(arguments: [
        (#"{"b":1,"a":2,"c":{"z":true,"y":null}}"#, #"{"a":2,"b":1,"c":{"y":null,"z":true}}"#),
        ("[]", "[]"),
        ("{}", "{}"),
        ("[1,[2,[3,[]]],{}]", "[1,[2,[3,[]]],{}]"),
        ("[null,1,null]", "[null,1,null]"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("0.1", "0.1"),
        ("1.0", "1.0"),
        ("-0.0", "-0.0"),
        ("1e308", "1e+308"),
        (#""caf\u00e9 \ud83d\ude00 \n\t\"\\/""#, #""café 😀 \n\t\"\\/""#),
        (#""\u0001""#, #""\u0001""#),
    ])
    func roundTrips(input: String, expected: String) throws {
        #expect(try roundTrip(input).get() == expected)
    }

    @Test func integersStayExactAndFloatsStayFloats() async throws {
        #expect(try await evaluate("""
            local json = require("json")
            local v = json.decode('[9007199254740993, 2.5, 3]')
            return { math.type(v[1]), v[1] == 9007199254740993, math.type(v[2]), math.type(v[3]) }
            """) == #"["integer",true,"float","integer"]"#)
    }

    @Test func nullIsASentinelThatKeepsKeys() async throws {
        #expect(try await evaluate("""
            local json = require("json")
            local v = json.decode('{"a":null}')
            return { v.a == json.null, json.encode({ x = json.null }) }
            """) == #"[true,"{\"x\":null}"]"#)
    }

    @Test func emptyTablesAndMarkers() async throws {
        #expect(try await evaluate("""
            local json = require("json")
            return { json.encode({}), json.encode(json.array({})), json.encode(json.object({})), json.encode(json.decode("[]")) }
            """) == #"["{}","[]","{}","[]"]"#)
    }

    @Test(arguments: [
        ("return require('json').encode({ [1] = 1, [3] = 3 })", "$"),
        ("return require('json').encode({ lines = { 1, 2, x = 3 } })", "$.lines"),
        ("return require('json').encode({ f = function() end })", "$.f"),
        ("return require('json').encode({ 0/0 })", "$[1]"),
        ("return require('json').encode({ s = '\\xff' })", "$.s"),
    ])
    func encodeErrorsNameThePath(source: String, path: String) async throws {
        let error = try await failure(of: source)
        #expect(error.kind == .runtime)
        #expect(error.message.contains(path), "\(error.message)")
    }

    @Test(arguments: ["{\"a\":1,}", "[1,2", "{\"a\":1,\"a\":2}", "\"\\ud800\"", "\"\u{1}\"", "NaN", "[1] x", "\"\\x\""])
    func malformedInputIsRejectedWithAnOffset(input: String) throws {
        guard case .failure(let error) = try roundTrip(input) else {
            Issue.record("accepted \(input)")
            return
        }
        #expect(error.message.contains("json.decode"), "\(error.message)")
        #expect(error.message.contains("byte"), "\(error.message)")
    }

    @Test func invalidUTF8InputIsRejected() throws {
        let state = try makeState()
        defer { state.close() }
        let chunk = try state.compile(source: Array("return function(v) return v end".utf8), chunkName: "identity.lua")
        guard case .value(let function) = try state.runSynchronously(chunk, arguments: [], resultMode: .keep) else { return }
        let bytes: [UInt8] = Array("\"ab".utf8) + [0xc3, 0x28] + Array("\"".utf8)
        #expect(throws: LuaError.self) {
            _ = try state.runSynchronously(LuaFunctionRef(ref: function.ref), arguments: [.json(bytes)])
        }
    }

    @Test func depthLimitIsALimitError() throws {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        guard case .failure(let error) = try roundTrip(deep) else {
            Issue.record("accepted nesting of 100 beyond json_depth 64")
            return
        }
        #expect(error.kind == .limit)
        #expect(try roundTrip(String(repeating: "[", count: 60) + String(repeating: "]", count: 60)).get().count == 120)
    }

    @Test func outputIsDeterministic() async throws {
        let source = """
            local t = {}
            for i = 1, 200 do t["k" .. ((i * 7919) % 211)] = i end
            return require("json").encode(t)
            """
        let first = try await evaluate(source)
        for _ in 0..<5 { #expect(try await evaluate(source) == first) }
    }
}
