/// Faults the Odoo simulator injects into RPC calls (`POST /_sim/faults`), so a connector's error handling is tested
/// against what a real Odoo and its proxy do: slowness, 502/503/504 from the proxy, PostgreSQL serialization failures
/// after Odoo's own retries, connections dropped mid-response, an API key that stops working.
public struct OdooFaults: Codable, Sendable, Equatable {
    /// Added before every RPC answer.
    public var latency_ms: Int = 0
    /// While true every RPC call gets 503 from "the proxy" (an outage).
    public var outage: Bool = false
    /// The next N calls get this status (502, 503, 504, 429) from the proxy.
    public var fail_status: Int = 503
    public var fail_next: Int = 0
    /// A fraction (0–1) of calls fail with `fail_status`.
    public var fail_rate: Double = 0
    /// The next N object calls raise psycopg2's SerializationFailure.
    public var serialization_failures: Int = 0
    /// The next N calls lose their connection mid-response.
    public var drop_connections: Int = 0
    /// The next N object calls raise AccessDenied (a key revoked between authentication and the call).
    public var access_denied: Int = 0

    public init() {}

    /// Every member is optional in the JSON: `{"outage":true}` sets one fault and clears the others.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        latency_ms = try c.decodeIfPresent(Int.self, forKey: .latency_ms) ?? 0
        outage = try c.decodeIfPresent(Bool.self, forKey: .outage) ?? false
        fail_status = try c.decodeIfPresent(Int.self, forKey: .fail_status) ?? 503
        fail_next = try c.decodeIfPresent(Int.self, forKey: .fail_next) ?? 0
        fail_rate = try c.decodeIfPresent(Double.self, forKey: .fail_rate) ?? 0
        serialization_failures = try c.decodeIfPresent(Int.self, forKey: .serialization_failures) ?? 0
        drop_connections = try c.decodeIfPresent(Int.self, forKey: .drop_connections) ?? 0
        access_denied = try c.decodeIfPresent(Int.self, forKey: .access_denied) ?? 0
        guard (0...1).contains(fail_rate), (100...599).contains(fail_status), latency_ms >= 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "fail_rate 0–1, fail_status 100–599, latency_ms ≥ 0"))
        }
    }
}

/// What one call meets.
enum InjectedFault: Equatable {
    case status(Int)
    case serialization
    case drop
    case accessDenied
}

actor FaultPlan {
    private(set) var faults = OdooFaults()

    func set(_ faults: OdooFaults) { self.faults = faults }

    /// Takes the fault for the next call (and the latency to add), counting down the one-shot faults.
    func next(objectCall: Bool) -> (fault: InjectedFault?, latency: Int) {
        let latency = faults.latency_ms
        if faults.outage { return (.status(503), latency) }
        if faults.drop_connections > 0 { faults.drop_connections -= 1; return (.drop, latency) }
        if faults.fail_next > 0 { faults.fail_next -= 1; return (.status(faults.fail_status), latency) }
        if faults.fail_rate > 0, Double.random(in: 0..<1) < faults.fail_rate { return (.status(faults.fail_status), latency) }
        guard objectCall else { return (nil, latency) }
        if faults.serialization_failures > 0 { faults.serialization_failures -= 1; return (.serialization, latency) }
        if faults.access_denied > 0 { faults.access_denied -= 1; return (.accessDenied, latency) }
        return (nil, latency)
    }
}
