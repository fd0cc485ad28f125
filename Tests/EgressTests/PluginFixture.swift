import Egress
import Foundation
import HTTPTransport
import Logging
import LuaRuntime
import Synchronization
import Testing

/// A connector plugin written to a temporary folder, loaded in a pool whose `http.request` goes through an
/// `EgressGateway` over a real `HTTPClient`.
struct PluginFixture {
    static let limits: SandboxLimits = {
        let profiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sandbox/profiles")
        return try! SandboxProfile.load(named: "production", from: profiles).limits
    }()

    /// A connector that sends the operation it is given as the request table and returns what came back.
    static let passThrough = """
        local http = require("http")
        return { kind = "connector", deliver = function(op, ctx)
          local res = http.request(op)
          return { status = res.status, headers = res.headers, body = res.body, json = res.json }
        end }
        """

    /// Writes `source` as plugin `name`, loads it on `states` states with `rules` as its egress list, runs `body`.
    static func with<T>(
        _ name: String = "partner-sink", source: String = passThrough, rules: [EgressRule], states: Int = 1,
        client configuration: HTTPClient.Configuration = .init(),
        _ body: (PluginPool) async throws -> T
    ) async throws -> T {
        try await withGateway(name, source: source, rules: rules, states: states, client: configuration) { pool, _ in
            try await body(pool)
        }
    }

    /// `with`, also handing `body` the gateway (its endpoints' circuits and counters).
    static func withGateway<T>(
        _ name: String = "partner-sink", source: String = passThrough, rules: [EgressRule], states: Int = 1,
        client configuration: HTTPClient.Configuration = .init(), clock: ManualClock? = nil,
        _ body: (PluginPool, EgressGateway) async throws -> T
    ) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("egress-\(UUID().uuidString)")
            .appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try Data(source.utf8).write(to: folder.appendingPathComponent(Plugin.entryFileName))
        let client = HTTPClient(configuration: configuration)
        defer { client.shutdown() }
        let now: @Sendable () -> ContinuousClock.Instant
        if let clock { now = { clock.now } } else { now = { .now } }
        let gateway = EgressGateway(client: client, policies: [name: EgressPolicy(rules: rules)], now: now)
        let pool = try await PluginPool.load(Plugin(name: name, folder: folder), states: states, limits: limits,
                                             logger: Logger(label: "egress-test"), http: gateway)
        return try await body(pool, gateway)
    }
}

extension PluginPool {
    /// Invokes `deliver` with `operation` (JSON text) and decodes the JSON result.
    func deliver(_ operation: String, correlationId: String? = "corr-test") async throws -> [String: Any] {
        let result = try await invoke("deliver", input: .json(Array(operation.utf8)), correlationId: correlationId)
        guard case .json(let bytes) = result,
              let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw FixtureError("deliver returned no JSON object: \(result)")
        }
        return object
    }

    /// Invokes `deliver` expecting a `LuaError`; records an issue and returns nil if it succeeds.
    func deliverFailure(_ operation: String, sourceLocation: SourceLocation = #_sourceLocation) async -> LuaError? {
        do {
            let result = try await invoke("deliver", input: .json(Array(operation.utf8)), correlationId: "corr-test")
            Issue.record("expected a LuaError, got \(result)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }
}

/// A JSON string literal for `text` (for building operations in tests).
func jsonString(_ text: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self)
}

/// A clock that moves only when told: circuits and rate limits judged without sleeping.
final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    var now: ContinuousClock.Instant { instant.withLock { $0 } }

    func advance(by duration: Duration) {
        instant.withLock { $0 += duration }
    }
}
