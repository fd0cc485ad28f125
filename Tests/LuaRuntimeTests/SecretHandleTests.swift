import Foundation
@testable import LuaRuntime
import Synchronization
import Testing

/// Secret handles in the sandbox: names only, unforgeable, usable only by http.request.
@Suite struct SecretHandleTests {
    /// Records the requests plugins make, answering 200.
    final class RecordingGateway: HTTPGateway {
        let requests = Mutex<[PluginHTTPRequest]>([])
        func send(_ request: PluginHTTPRequest, plugin: String, correlationId: String?) async -> PluginHTTPResult {
            requests.withLock { $0.append(request) }
            return .response(status: 200, headers: [], body: [])
        }
    }

    static func run(_ body: String, gateway: RecordingGateway = RecordingGateway()) async throws -> String {
        let folder = try TemporaryFolder()
        try folder.write("plugin.lua", """
            local http, json = require("http"), require("json")
            return { kind = "connector", deliver = function(op, ctx)
            \(body)
            end }
            """)
        let instance = try await PluginInstance.load(Plugin(name: "handles", folder: folder.url), limits: try profile("production").limits,
                                                     logger: testLogger, http: gateway)
        guard case .json(let out) = try await instance.invoke("deliver", input: .json(Array("{}".utf8))) else { return "" }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func handlesShowNamesAndJoin() async throws {
        let out = try await Self.run("""
            local h = secret.join("Bearer ", secret("partner/token"), "!", 1)
            local twice = secret.join(h, secret("other"))
            return { shown = tostring(h), twice = tostring(twice), meta = getmetatable(h), keys = next(h) == nil, rawlen = rawlen(h) }
            """)
        #expect(out == #"{"keys":true,"meta":"secret","rawlen":0,"shown":"Bearer secret(partner/token)!1","twice":"Bearer secret(partner/token)!1secret(other)"}"#)
    }

    @Test func basicCredentialsAreAHandleTooAndCheckTheirArguments() async throws {
        let out = try await Self.run("""
            local h = secret.join("Basic ", secret.basic("AC0123", secret("messaging/auth_token")))
            local bad_user = select(2, pcall(secret.basic, "a b", secret("x")))
            local bad_handle = select(2, pcall(secret.basic, "AC0123", "plain text"))
            local joined = select(2, pcall(secret.basic, "AC0123", secret.join("a", secret("x"))))
            return { shown = tostring(h), bad_user = bad_user, bad_handle = bad_handle, joined = joined }
            """)
        #expect(out.contains(#""shown":"Basic secret.basic(AC0123, secret(messaging/auth_token))""#), "\(out)")
        #expect(out.contains("argument 1 must be a user name"), "\(out)")
        #expect(out.contains("argument 2 must be one secret handle"), "\(out)")
        #expect(!out.contains("\"joined\":null"), "\(out)")
    }

    /// `secret.json` and `secret.form` mark one secret for escaping by the host; the reference says which.
    @Test func encodedHandlesCarryTheirEncodingToTheHost() async throws {
        let gateway = RecordingGateway()
        let out = try await Self.run("""
            local body = secret.join('{"key":"', secret.json(secret("odoo/api_key")), '"}')
            http.request{ url = "http://partner.example/x", body = body,
                          headers = { ["X-Form"] = secret.join("a=", secret.form(secret("partner/client"))) } }
            local twice = select(2, pcall(secret.json, secret.json(secret("x"))))
            local joined = select(2, pcall(secret.form, secret.join("a", secret("x"))))
            local basic_of_json = select(2, pcall(secret.basic, "AC0123", secret.json(secret("x"))))
            local plain = select(2, pcall(secret.json, "plain text"))
            return { shown = tostring(body), twice = twice, joined = joined, basic_of_json = basic_of_json, plain = plain }
            """, gateway: gateway)
        #expect(out.contains(#""shown":"{\"key\":\"secret.json(secret(odoo/api_key))\"}""#), "\(out)")
        for refused in ["twice", "joined", "plain"] {
            #expect(out.contains(#""\#(refused)":"secret."#) && out.contains("argument 1 must be one secret handle"), "\(refused): \(out)")
        }
        #expect(out.contains(#""basic_of_json":"#) && out.contains("argument 2 must be one secret handle"), "\(out)")
        let request = try #require(gateway.requests.withLock { $0.first })
        #expect(request.body == Array(#"{"key":"\#u{1}odoo/api_key#json\#u{1}"}"#.utf8))
        #expect(request.headers.first { $0.name == "X-Form" }?.value == "a=\u{1}partner/client#form\u{1}")
    }

    /// `..` on a handle is an error that says what to use instead (a __concat metamethod would reach a Lua 5.4.4 defect).
    @Test func concatenatingAHandleNamesSecretJoin() async throws {
        await #expect { _ = try await Self.run(#"return "Bearer " .. secret("partner/token")"#) } throws: { error in
            guard let error = error as? LuaError else { return false }
            return error.kind == .runtime && error.message.contains("attempt to concatenate a secret value")
                && error.message.contains("secret.join(")
        }
    }

    @Test(arguments: [
        ("return secret('a').value", "no fields"),
        ("local h = secret('a'); h.x = 1", "cannot be changed"),
        ("return #secret('a')", "no length"),
        ("return json.encode({ k = secret('a') })", "cannot encode a secret handle"),
        ("return secret('A B')", "expected a name"),
        ("return secret.join(secret('a'), {})", "argument 2 is a table"),
        ("return secret.split", "secret.split does not exist"),
        ("secret.join = print", "read-only"),
        ("setmetatable(secret('a'), nil)", "protected metatable"),
    ])
    func handlesRefuseEverythingElse(body: String, expected: String) async throws {
        await #expect { _ = try await Self.run(body) } throws: { error in
            (error as? LuaError)?.message.contains(expected) == true
        }
    }

    @Test func onlyAHandleMakesAReferenceTheHostResolves() async throws {
        let gateway = RecordingGateway()
        _ = try await Self.run("""
            http.request{ url = "http://partner.example/x", headers = { Authorization = secret.join("Bearer ", secret("partner/token")) },
                          body = secret.join("client_secret=", secret("partner/client")) }
            return true
            """, gateway: gateway)
        let request = try #require(gateway.requests.withLock { $0.first })
        #expect(request.headers.first { $0.name == "Authorization" }?.value == "Bearer \u{1}partner/token\u{1}")
        #expect(request.body == Array("client_secret=\u{1}partner/client\u{1}".utf8))
        #expect(request.bodyHasSecretReferences)

        // A plain string cannot forge a reference, in a header or a handle's literal part.
        for forged in [#"headers = { X = "\1partner/token\1" }"#, #"headers = { X = secret.join("\1", secret("a")) }"#] {
            await #expect { _ = try await Self.run("return http.request{ url = 'http://p.example/', \(forged) }", gateway: gateway) } throws: { error in
                (error as? LuaError)?.message.contains("control byte") == true || (error as? LuaError)?.message.contains("CR, LF or NUL") == true
            }
        }
        // A plain body may carry any bytes, and is then never searched for references.
        _ = try await Self.run(#"http.request{ url = "http://p.example/", body = "\1partner/token\1" } return true"#, gateway: gateway)
        #expect(gateway.requests.withLock { $0.last?.bodyHasSecretReferences } == false)
    }
}
