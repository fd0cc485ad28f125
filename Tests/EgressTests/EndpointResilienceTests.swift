import Egress
import Foundation
import HTTPTransport
import LuaRuntime
import Testing

/// Real Lua plugins calling a real local partner through `EgressGateway`: the circuit breaker per endpoint (counted by
/// the requests that actually reached the partner) and the rate limit. The circuits' clock is moved by hand, so the
/// open period never runs out by itself on a loaded machine.
@Suite struct EndpointResilienceTests {
    /// Opens after 4 requests at ≥ 50% failures, for 200 ms, then one probe decides.
    static let circuit = CircuitSettings(failureRate: 0.5, minRequests: 4, window: .seconds(10),
                                         openDuration: .milliseconds(200), halfOpenProbes: 1)

    static func status(_ port: Int, _ code: Int) -> String {
        #"{"url":"http://127.0.0.1:\#(port)/status/\#(code)","raise":false}"#
    }

    static func state(_ gateway: EgressGateway) -> String? {
        gateway.endpoints.snapshots().first?.state.rawValue
    }

    @Test func theCircuitOpensOnFailuresFailsFastWithoutIOThenProbesAndCloses() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let rule = try EgressRule(origin: "http://127.0.0.1:\(port)", allowPrivate: true, circuit: Self.circuit)
            let clock = ManualClock()
            try await PluginFixture.withGateway(rules: [rule], clock: clock) { pool, gateway in
                for _ in 0..<4 { #expect(try await pool.deliver(Self.status(port, 503))["status"] as? Int == 503) }
                #expect(log.requests.count == 4)
                #expect(Self.state(gateway) == "open")

                // Open: a retryable failure with the remaining open time, and nothing reaches the partner.
                for _ in 0..<3 {
                    let error = try #require(await pool.deliverFailure(Self.status(port, 200)))
                    #expect(error.kind == .runtime)
                    #expect(error.retryable == true)
                    #expect(error.message.contains("circuit open for http://127.0.0.1:\(port)"), "\(error.message)")
                    #expect(error.message.contains("4 of 4 requests failed"), "\(error.message)")
                    #expect(error.retryAfterMilliseconds == 200)  // the whole open period: the clock has not moved
                }
                #expect(log.requests.count == 4)
                let open = try #require(gateway.endpoints.snapshots().first)
                #expect(open.outcomes["circuit_open"] == 3)
                #expect(open.outcomes["failure"] == 4)
                #expect(open.openedAt != nil)

                clock.advance(by: .milliseconds(150))
                #expect(await pool.deliverFailure(Self.status(port, 200))?.retryAfterMilliseconds == 50)
                // After open_s: half-open; the probe succeeds and closes the circuit.
                clock.advance(by: .milliseconds(50))
                #expect(Self.state(gateway) == "half_open")
                #expect(try await pool.deliver(Self.status(port, 200))["status"] as? Int == 200)
                #expect(log.requests.count == 5)
                #expect(Self.state(gateway) == "closed")
                #expect(try await pool.deliver(Self.status(port, 204))["status"] as? Int == 204)
                #expect(log.requests.count == 6)
            }
        }
    }

    @Test func aFailedProbeReopensTheCircuit() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let rule = try EgressRule(origin: "http://127.0.0.1:\(port)", allowPrivate: true, circuit: Self.circuit)
            let clock = ManualClock()
            try await PluginFixture.withGateway(rules: [rule], clock: clock) { pool, gateway in
                // 429s count as failures too (the partner is shedding load).
                for _ in 0..<4 { _ = try await pool.deliver(Self.status(port, 429)) }
                #expect(Self.state(gateway) == "open")
                clock.advance(by: .milliseconds(250))
                #expect(try await pool.deliver(Self.status(port, 502))["status"] as? Int == 502)
                #expect(Self.state(gateway) == "open")
                #expect(log.requests.count == 5)
                let error = try #require(await pool.deliverFailure(Self.status(port, 200)))
                #expect(error.message.contains("circuit open"))
                #expect(log.requests.count == 5)
            }
        }
    }

    @Test func connectionFailuresCountAndOtherPluginsAndOriginsAreUnaffected() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            // A port nobody listens on (bound, then closed) is the failing partner.
            let deadPort = try Self.closedPort()
            let rules = [try EgressRule(origin: "http://127.0.0.1:\(deadPort)", allowPrivate: true, circuit: Self.circuit),
                         try EgressRule(origin: "http://127.0.0.1:\(port)", allowPrivate: true, circuit: Self.circuit)]
            try await PluginFixture.withGateway(rules: rules, clock: ManualClock()) { pool, gateway in
                let dead = #"{"url":"http://127.0.0.1:\#(deadPort)/x"}"#
                for _ in 0..<4 {
                    let error = try #require(await pool.deliverFailure(dead))
                    #expect(error.message.contains("could not connect"), "\(error.message)")
                }
                let error = try #require(await pool.deliverFailure(dead))
                #expect(error.message.contains("circuit open"), "\(error.message)")
                #expect(try await pool.deliver(Self.status(port, 200))["status"] as? Int == 200)
                let states = Dictionary(uniqueKeysWithValues: gateway.endpoints.snapshots().map { ($0.origin, $0.state) })
                #expect(states == ["http://127.0.0.1:\(deadPort)": .open, "http://127.0.0.1:\(port)": .closed])
            }
        }
    }

    @Test func theRateLimitSpacesRequests() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let rule = try EgressRule(origin: "http://127.0.0.1:\(port)", allowPrivate: true,
                                      rateLimit: RateLimit(perSecond: 20, burst: 1))
            try await PluginFixture.withGateway(rules: [rule]) { pool, gateway in
                let started = ContinuousClock.now
                // Ten concurrent invocations on one state: each waits for its token in its own coroutine.
                try await withThrowingTaskGroup(of: Int?.self) { group in
                    for _ in 0..<10 { group.addTask { try await pool.deliver(Self.status(port, 200))["status"] as? Int } }
                    for try await status in group { #expect(status == 200) }
                }
                let elapsed = ContinuousClock.now - started
                // One at once, then one every 50 ms: the tenth goes at 450 ms.
                #expect(elapsed >= .milliseconds(430), "\(elapsed)")
                #expect(elapsed < .seconds(5), "\(elapsed)")
                #expect(log.requests.count == 10)
                #expect(gateway.endpoints.snapshots().first?.outcomes["rate_limited"] == 0)
            }
        }
    }

    @Test func aWaitLongerThanTheBoundFailsRetryableWithTheTimeUntilAToken() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let rule = try EgressRule(origin: "http://127.0.0.1:\(port)", allowPrivate: true,
                                      rateLimit: RateLimit(perSecond: 2, burst: 1))
            // A frozen clock: the token is exactly 500 ms away however long the first request took.
            try await PluginFixture.withGateway(rules: [rule], clock: ManualClock()) { pool, gateway in
                let plain = #"{"url":"http://127.0.0.1:\#(port)/status/200"}"#
                #expect(try await pool.deliver(plain)["status"] as? Int == 200)
                // The next token is 500 ms away; this request's own timeout (100 ms) bounds its wait: refused, unsent.
                let error = try #require(await pool.deliverFailure(#"{"url":"http://127.0.0.1:\#(port)/status/200","timeout_ms":100}"#))
                #expect(error.retryable == true)
                #expect(error.message.contains("rate limit of http://127.0.0.1:\(port)"), "\(error.message)")
                #expect(error.retryAfterMilliseconds == 500)
                #expect(log.requests.count == 1)
                // Without a timeout the bound is 1 s: the same wait is waited out, and the request goes.
                let started = ContinuousClock.now
                #expect(try await pool.deliver(plain)["status"] as? Int == 200)
                #expect(ContinuousClock.now - started >= .milliseconds(450))
                #expect(log.requests.count == 2)
                let snapshot = try #require(gateway.endpoints.snapshots().first)
                #expect(snapshot.outcomes["rate_limited"] == 1)
                #expect(snapshot.outcomes["success"] == 2)
                #expect(snapshot.state == .closed)  // being rate limited says nothing about the partner
            }
        }
    }

    @Test func theWaitIsCappedAtOneSecond() async throws {
        let log = PartnerLog()
        try await PartnerServer.run(log: log) { port in
            let rule = try EgressRule(origin: "http://127.0.0.1:\(port)", allowPrivate: true,
                                      rateLimit: RateLimit(perSecond: 0.5, burst: 1))
            try await PluginFixture.withGateway(rules: [rule], clock: ManualClock()) { pool, _ in
                let plain = #"{"url":"http://127.0.0.1:\#(port)/status/200"}"#
                #expect(try await pool.deliver(plain)["status"] as? Int == 200)
                let started = ContinuousClock.now
                let error = try #require(await pool.deliverFailure(plain))
                #expect(ContinuousClock.now - started < .milliseconds(1500))  // refused at once, not after the 2 s wait
                #expect(error.retryAfterMilliseconds == 2000)
                #expect(log.requests.count == 1)
            }
        }
    }

    /// A loopback port that was just free (bound and closed again).
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw FixtureError("could not bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
