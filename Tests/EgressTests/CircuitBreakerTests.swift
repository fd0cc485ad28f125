@testable import Egress
import Testing

/// The circuit's state machine, with time passed in: closed → open → half-open → closed or open again.
@Suite struct CircuitBreakerTests {
    let start = ContinuousClock.now
    static let settings = CircuitSettings(failureRate: 0.5, minRequests: 4, window: .seconds(10),
                                          openDuration: .seconds(30), halfOpenProbes: 2)

    /// Admits one request at `at` and records its outcome.
    static func call(_ breaker: inout CircuitBreaker, failed: Bool, at: ContinuousClock.Instant) {
        guard case .allowed(let ticket) = breaker.admit(at: at) else {
            Issue.record("expected the request to be admitted in state \(breaker.state)")
            return
        }
        breaker.record(ticket, failed: failed, at: at)
    }

    @Test func opensAtTheFailureRateOnlyOnceEnoughRequestsWereSeen() {
        var breaker = CircuitBreaker(Self.settings, now: start)
        Self.call(&breaker, failed: true, at: start)
        Self.call(&breaker, failed: true, at: start)
        Self.call(&breaker, failed: true, at: start)
        #expect(breaker.state == .closed)  // 3 failures of 3: below min_requests
        Self.call(&breaker, failed: false, at: start)
        #expect(breaker.state == .closed)  // a success does not open it
        Self.call(&breaker, failed: true, at: start + .seconds(1))
        #expect(breaker.state == .open)    // 4 of 5 ≥ 0.5
        #expect(breaker.admit(at: start + .seconds(11)) == .rejected(retryAfter: .seconds(20)))
    }

    @Test func failuresOutsideTheWindowDoNotCount() {
        var breaker = CircuitBreaker(Self.settings, now: start)
        for _ in 0..<3 { Self.call(&breaker, failed: true, at: start) }
        // 11 s later the first three have left the 10 s window: 1 failure of 1 is below min_requests.
        Self.call(&breaker, failed: true, at: start + .seconds(11))
        #expect(breaker.state == .closed)
        #expect(breaker.counts(at: start + .seconds(11)) == (requests: 1, failures: 1))
    }

    @Test func halfOpenLetsProbesThroughAndClosesWhenAllSucceed() {
        var breaker = CircuitBreaker(Self.settings, now: start)
        for _ in 0..<4 { Self.call(&breaker, failed: true, at: start) }
        #expect(breaker.state == .open)
        let later = start + .seconds(30)
        guard case .allowed(let first) = breaker.admit(at: later), case .allowed(let second) = breaker.admit(at: later) else {
            Issue.record("the half-open circuit should admit two probes")
            return
        }
        #expect(first.probe && second.probe)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.admit(at: later) == .rejected(retryAfter: CircuitBreaker.probeWait))
        breaker.record(first, failed: false, at: later)
        #expect(breaker.state == .halfOpen)
        breaker.record(second, failed: false, at: later)
        #expect(breaker.state == .closed)
        #expect(breaker.openedAt == nil)
        #expect(breaker.counts(at: later) == (requests: 0, failures: 0))
    }

    @Test func aFailedProbeReopensForAnotherFullPeriod() {
        var breaker = CircuitBreaker(Self.settings, now: start)
        for _ in 0..<4 { Self.call(&breaker, failed: true, at: start) }
        let later = start + .seconds(31)
        Self.call(&breaker, failed: true, at: later)
        #expect(breaker.state == .open)
        #expect(breaker.openedAt == later)
        #expect(breaker.admit(at: later + .seconds(1)) == .rejected(retryAfter: .seconds(29)))
    }

    @Test func lateOutcomesFromBeforeTheCircuitOpenedAreNotProbes() {
        var breaker = CircuitBreaker(Self.settings, now: start)
        guard case .allowed(let slow) = breaker.admit(at: start) else { return }
        for _ in 0..<4 { Self.call(&breaker, failed: true, at: start) }
        let later = start + .seconds(30)
        guard case .allowed(let probe) = breaker.admit(at: later) else { return }
        // A request sent while closed fails after the circuit went half-open: it must not reopen it.
        breaker.record(slow, failed: true, at: later)
        #expect(breaker.state == .halfOpen)
        // An abandoned probe frees its slot without deciding anything.
        breaker.abandon(probe)
        Self.call(&breaker, failed: false, at: later)
        Self.call(&breaker, failed: false, at: later)
        #expect(breaker.state == .closed)
    }
}
