import Formats
import Foundation
import LuaRuntime
import Store

/// Runs one message through its flow: the source's `decode`, then for each event the route's mappings in order and
/// the connector's `deliver`. All or nothing: a failure anywhere fails the attempt (connectors are idempotent, so a
/// retry that re-delivers earlier events is safe).
public struct MessageProcessor: Sendable {
    public let flow: FlowDefinition
    public let plugins: PluginDirectory

    public init(flow: FlowDefinition, plugins: PluginDirectory) {
        self.flow = flow
        self.plugins = plugins
    }

    public struct Failure: Error, Sendable {
        public let failureClass: FailureClass
        /// The sandbox kind or `routing`, for the attempt record.
        public let kind: String
        public let message: String
        /// The earliest retry the failure asked for, in seconds (a partner's Retry-After).
        public var retryAfter: TimeInterval? = nil
    }

    /// Returns a note for the attempt record (events delivered, types ignored) or throws `Failure`.
    public func process(_ message: StoredMessage, attempt: Int) async throws(Failure) -> String {
        let context = { (event: String?) in
            Array(JSONText.object([
                ("message_id", JSONText.string(message.id)), ("correlation_id", JSONText.string(message.correlationId)),
                ("source", JSONText.string(message.source)), ("flow", JSONText.string(flow.name)),
                ("attempt", String(attempt)), ("event_type", event.map(JSONText.string) ?? "null"),
            ]).utf8)
        }
        let producer: String
        let decoded: [UInt8]
        if let run = ScheduledRun.of(message) {
            // A scheduled run: the plugin's poll/reconcile hook produces the events (or none).
            producer = "\(run.plugin).\(run.hook)"
            decoded = try await call(run.plugin, run.hook, .json(message.body), context(nil), correlationId: message.correlationId)
        } else {
            producer = "\(flow.source.plugin).decode"
            decoded = try await call(flow.source.reference, "decode", .string(message.body), decodeContext(message, attempt: attempt),
                                     correlationId: message.correlationId)
        }
        guard let events = EventListScanner.scan(decoded) else {
            throw Failure(failureClass: .permanent, kind: "contract",
                          message: "\(producer) must return a list of events, got \(String(decoding: decoded.prefix(200), as: UTF8.self))")
        }
        var delivered = 0
        var ignored: [String] = []
        for (index, event) in events.enumerated() {
            guard let type = event.type else {
                throw Failure(failureClass: .permanent, kind: "contract",
                              message: "\(producer): event \(index + 1) has no string field 'type'")
            }
            // An event may fan out: every route for its type runs, in the order the flow lists them (an invoice to
            // Odoo, then the claim to the clearinghouse). A failure fails the attempt; the retry repeats the routes
            // that had succeeded, which connectors make harmless (external ids, control numbers).
            let routes = flow.routes.filter { $0.event == type }
            guard !routes.isEmpty else {
                ignored.append(type)
                continue
            }
            for route in routes {
                var payload = Array(event.bytes)
                for mapping in route.mappings {
                    payload = try await call(mapping, "map", .json(payload), context(type), correlationId: message.correlationId)
                }
                _ = try await call(route.connector, "deliver", .json(payload), context(type), correlationId: message.correlationId)
            }
            delivered += 1
        }
        var note = "delivered \(delivered) event(s)"
        if !ignored.isEmpty { note += "; no route for \(ignored.joined(separator: ", ")) in flow \(flow.name)" }
        return note
    }

    /// decode's context: the usual fields and `request` = { query = { name = value }, headers = { kept headers } }.
    private func decodeContext(_ message: StoredMessage, attempt: Int) -> [UInt8] {
        var headers: [(String, String)] = [], query: [(String, String)] = []
        for (name, value) in message.headers.sorted(by: { $0.key < $1.key }) {
            if name == IngestPreparation.queryKey { query = FormURLEncoded.parse(value) } else { headers.append((name, JSONText.string(value))) }
        }
        var seen = Set<String>()
        let queryFields = query.filter { seen.insert($0.0).inserted }.map { ($0.0, JSONText.string($0.1)) }
        return Array(JSONText.object([
            ("message_id", JSONText.string(message.id)), ("correlation_id", JSONText.string(message.correlationId)),
            ("source", JSONText.string(message.source)), ("flow", JSONText.string(flow.name)),
            ("attempt", String(attempt)), ("event_type", "null"),
            ("request", JSONText.object([("query", JSONText.object(queryFields)), ("headers", JSONText.object(headers))])),
        ]).utf8)
    }

    private func call(_ plugin: String, _ hook: String, _ input: LuaArgument, _ context: [UInt8],
                      correlationId: String) async throws(Failure) -> [UInt8] {
        let pool: PluginPool
        do {
            pool = try await plugins.pool(plugin)
        } catch let error as LuaError {
            throw Failure(failureClass: .retryable, kind: "plugin_load", message: "\(plugin) does not load: \(error)")
        } catch {
            throw Failure(failureClass: .retryable, kind: "plugin_load", message: "\(plugin) does not load: \(error)")
        }
        do {
            switch try await pool.invoke(hook, input: input, context: context, correlationId: correlationId) {
            case .json(let bytes): return bytes
            case .nothing, .value: return Array("null".utf8)
            }
        } catch {
            throw Failure(failureClass: FailureClass.of(error), kind: error.kind.rawValue, message: "\(plugin).\(hook): \(error.message)"
                          + (error.location.map { " (at \($0))" } ?? ""),
                          retryAfter: error.retryAfterMilliseconds.map { Double($0) / 1000 })
        }
    }
}
