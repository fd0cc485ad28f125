import Foundation
import LuaRuntime

/// The endpoints as the admin API (`GET /api/endpoints`) and the Prometheus scrape (`GET /metrics`) show them,
/// rendered here so the server needs no knowledge of egress.
extension EndpointRegistry {
    /// `{"endpoints":[{plugin, origin, state, failures, requests, opened_at, rate_limit}, …]}`; `failures` and
    /// `requests` are the circuit's current window; `rate_limit` is null without one.
    public func json() -> String {
        Self.json(snapshots())
    }

    /// Prometheus text exposition (version 0.0.4): `conflux_circuit_state` (0 closed, 1 half-open, 2 open) and
    /// `conflux_egress_requests_total` by outcome, per plugin and origin.
    public func prometheusText() -> String {
        Self.prometheusText(snapshots())
    }

    static func json(_ snapshots: [EndpointSnapshot]) -> String {
        let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let items = snapshots.map { endpoint in
            JSONText.object([
                ("plugin", JSONText.string(endpoint.plugin)),
                ("origin", JSONText.string(endpoint.origin)),
                ("state", JSONText.string(endpoint.state.rawValue)),
                ("failures", String(endpoint.failures)),
                ("requests", String(endpoint.requests)),
                ("opened_at", endpoint.openedAt.map { JSONText.string($0.formatted(format)) } ?? "null"),
                ("rate_limit", endpoint.rateLimit.map { limit in
                    JSONText.object([
                        ("per_second", JSONText.milliseconds(limit.perSecond)), ("burst", String(limit.burst)),
                        ("tokens", JSONText.milliseconds(endpoint.tokens ?? 0)),
                    ])
                } ?? "null"),
            ])
        }
        return #"{"endpoints":["# + items.joined(separator: ",") + "]}"
    }

    static func prometheusText(_ snapshots: [EndpointSnapshot]) -> String {
        var out = "# HELP conflux_circuit_state Circuit breaker per plugin and origin: 0 closed, 1 half-open, 2 open.\n"
        out += "# TYPE conflux_circuit_state gauge\n"
        for endpoint in snapshots {
            let value = switch endpoint.state { case .closed: 0; case .halfOpen: 1; case .open: 2 }
            out += "conflux_circuit_state{\(labels(endpoint))} \(value)\n"
        }
        out += "# HELP conflux_egress_requests_total Plugin HTTP requests per plugin and origin, by outcome.\n"
        out += "# TYPE conflux_egress_requests_total counter\n"
        for endpoint in snapshots {
            for outcome in Endpoint.Outcome.allCases {
                out += "conflux_egress_requests_total{\(labels(endpoint)),outcome=\"\(outcome.rawValue)\"} \(endpoint.outcomes[outcome.rawValue] ?? 0)\n"
            }
        }
        return out
    }

    private static func labels(_ endpoint: EndpointSnapshot) -> String {
        "plugin=\"\(escaped(endpoint.plugin))\",origin=\"\(escaped(endpoint.origin))\""
    }

    /// A label value as the exposition format requires: backslash, double quote and line feed escaped.
    private static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
