import Foundation
@testable import LuaRuntime
import Testing

/// What a pool adds to every hook's context: the catalog entry's `config:` as `ctx.config` and the server's
/// environment as `ctx.env`, beside what the caller gave.
@Suite struct PluginPoolContextTests {
    static func pool(config: String?, environment: String?) async throws -> (PluginPool, TemporaryFolder) {
        let folder = try TemporaryFolder()
        try folder.write("plugin.lua", """
            local json = require("json")
            return { kind = "mapping", map = function(_, ctx)
              return { env = ctx.env or json.null, config = ctx.config or json.null, flow = ctx.flow or json.null }
            end }
            """)
        let pool = try await PluginPool.load(Plugin(name: "context", folder: folder.url), states: 1, limits: try profile("production").limits,
                                             logger: testLogger, config: config.map { Array($0.utf8) }, environment: environment)
        return (pool, folder)
    }

    static func run(_ pool: PluginPool, context: String) async throws -> String {
        guard case .json(let out) = try await pool.invoke("map", input: .json(Array("{}".utf8)), context: Array(context.utf8)) else { return "" }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func aHookSeesTheEnvironmentAndTheConfigBesideTheCallersFields() async throws {
        let (pool, folder) = try await Self.pool(config: #"{"usage":"P"}"#, environment: "production")
        _ = folder
        #expect(try await Self.run(pool, context: #"{"flow":"payer-remittance"}"#)
                == #"{"config":{"usage":"P"},"env":"production","flow":"payer-remittance"}"#)
        #expect(try await Self.run(pool, context: "{}") == #"{"config":{"usage":"P"},"env":"production","flow":null}"#)
    }

    @Test func withoutAnEnvironmentOrAConfigTheContextIsTheCallers() async throws {
        let (bare, folder) = try await Self.pool(config: nil, environment: nil)
        _ = folder
        #expect(try await Self.run(bare, context: #"{"flow":"f"}"#) == #"{"config":null,"env":null,"flow":"f"}"#)
        let (staging, other) = try await Self.pool(config: nil, environment: "staging")
        _ = other
        #expect(try await Self.run(staging, context: "{ }") == #"{"config":null,"env":"staging","flow":null}"#)
    }
}
