@testable import Egress
import Foundation
import Testing

/// What `GET /api/endpoints` and `GET /metrics` show, rendered from live endpoints with time passed in.
@Suite struct EndpointExpositionTests {
    static func endpoints() throws -> (closed: Endpoint, open: Endpoint, now: ContinuousClock.Instant) {
        let start = ContinuousClock.now
        let closed = Endpoint(plugin: "odoo", rule: try EgressRule(origin: "https://odoo.example.com",
                                                                   rateLimit: RateLimit(perSecond: 20, burst: 40)), now: start)
        let open = Endpoint(plugin: "billing \"eu\"", rule: try EgressRule(
            origin: "https://claims.example.org:8443", circuit: CircuitSettings(minRequests: 2)), now: start)
        for failed in [false, true] {
            guard case .go(let ticket, _) = closed.admit(maxWait: .zero, now: start) else { throw FixtureError("not admitted") }
            closed.record(ticket, failed: failed, now: start)
        }
        for _ in 0..<2 {
            guard case .go(let ticket, _) = open.admit(maxWait: .zero, now: start) else { throw FixtureError("not admitted") }
            open.record(ticket, failed: true, now: start)
        }
        _ = open.admit(maxWait: .zero, now: start)  // refused: counted as circuit_open
        return (closed, open, start + .seconds(5))
    }

    @Test func jsonNamesEachEndpointWithItsCircuitAndRateLimit() throws {
        let (closed, open, now) = try Self.endpoints()
        let wallClock = Date(timeIntervalSince1970: 1_800_000_000)
        let text = EndpointRegistry.json([closed, open].map { $0.snapshot(now: now, wallClock: wallClock) })
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let list = try #require(object?["endpoints"] as? [[String: Any]])
        #expect(list.count == 2)
        #expect(list[0]["plugin"] as? String == "odoo")
        #expect(list[0]["origin"] as? String == "https://odoo.example.com:443")
        #expect(list[0]["state"] as? String == "closed")
        #expect(list[0]["requests"] as? Int == 2)
        #expect(list[0]["failures"] as? Int == 1)
        #expect(list[0]["opened_at"] is NSNull)
        let limit = try #require(list[0]["rate_limit"] as? [String: Any])
        #expect(limit["per_second"] as? Int == 20)
        #expect(limit["burst"] as? Int == 40)
        #expect(limit["tokens"] as? Int == 40)  // 38 left, refilled over 5 s, capped at the burst

        #expect(list[1]["state"] as? String == "open")
        #expect(list[1]["rate_limit"] is NSNull)
        // Opened 5 s before the snapshot's wall-clock time.
        #expect(list[1]["opened_at"] as? String == "2027-01-15T07:59:55.000Z")
    }

    @Test func prometheusTextHasTheStateGaugeAndCountersByOutcome() throws {
        let (closed, open, now) = try Self.endpoints()
        let text = EndpointRegistry.prometheusText([closed, open].map { $0.snapshot(now: now) })
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("# TYPE conflux_circuit_state gauge"))
        #expect(lines.contains("# TYPE conflux_egress_requests_total counter"))
        #expect(lines.contains(#"conflux_circuit_state{plugin="odoo",origin="https://odoo.example.com:443"} 0"#))
        // Label values escaped as the exposition format requires.
        #expect(lines.contains(#"conflux_circuit_state{plugin="billing \"eu\"",origin="https://claims.example.org:8443"} 2"#))
        #expect(lines.contains(#"conflux_egress_requests_total{plugin="odoo",origin="https://odoo.example.com:443",outcome="success"} 1"#))
        #expect(lines.contains(#"conflux_egress_requests_total{plugin="odoo",origin="https://odoo.example.com:443",outcome="failure"} 1"#))
        #expect(lines.contains(#"conflux_egress_requests_total{plugin="billing \"eu\"",origin="https://claims.example.org:8443",outcome="circuit_open"} 1"#))
        // Every sample line is `name{labels} value`.
        for line in lines where !line.hasPrefix("#") {
            #expect(line.wholeMatch(of: /[a-z_]+\{[^}]*\} \d+/) != nil, "\(line)")
        }
    }

    @Test func halfOpenIsShownOnceTheOpenPeriodHasPassed() throws {
        let (_, open, now) = try Self.endpoints()
        #expect(open.snapshot(now: now + .seconds(30)).state == .halfOpen)
        #expect(EndpointRegistry.prometheusText([open.snapshot(now: now + .seconds(30))]).contains("} 1\n"))
    }
}
