import Foundation
import Synchronization

/// One plugin's traffic to one origin of its egress list: its circuit breaker, its rate limit (if the catalog entry
/// sets one) and its outcome counters. Each plugin has its own, so a misbehaving plugin cannot open another's circuit
/// or spend another's tokens.
///
/// Threading: any task may call any method; all state is under one lock, held only for arithmetic (never across I/O).
public final class Endpoint: Sendable {
    /// What an admitted request may do; see `admit`.
    enum Admission {
        case go(CircuitBreaker.Ticket, wait: Duration)
        /// Refused by the circuit (`halfOpen`: its probes are out); `requests`/`failures` are its window's counts.
        case circuitOpen(retryAfter: Duration, halfOpen: Bool, requests: Int, failures: Int)
        case rateLimited(retryAfter: Duration)
    }

    /// How a request ended, for the breaker and the counters.
    enum Outcome: String, CaseIterable, Sendable {
        /// A response that was not 5xx or 429.
        case success
        /// No response, or 5xx or 429.
        case failure
        /// Refused by the open circuit, without network I/O.
        case circuitOpen = "circuit_open"
        /// Refused because the next token was too far away.
        case rateLimited = "rate_limited"
        /// Ended without an outcome about the partner: refused by policy, cancelled, a secret unavailable.
        case abandoned
    }

    private struct State {
        var breaker: CircuitBreaker
        var bucket: TokenBucket?
        var outcomes: [Outcome: Int] = [:]
    }

    public let plugin: String
    /// `scheme://host:port`.
    public let origin: String
    public let rateLimit: RateLimit?
    let circuitWindow: Duration
    private let state: Mutex<State>

    init(plugin: String, rule: EgressRule, now: ContinuousClock.Instant = .now) {
        self.plugin = plugin
        origin = rule.origin
        rateLimit = rule.rateLimit
        circuitWindow = rule.circuit.window
        state = Mutex(State(breaker: CircuitBreaker(rule.circuit, now: now), bucket: rule.rateLimit.map { TokenBucket($0, now: now) }))
    }

    /// Asks the circuit, then the bucket. A request refused by either was never sent; one told to wait holds a
    /// reserved token and must call `record` or `abandon` (returning the token) when it ends.
    func admit(maxWait: Duration, now: ContinuousClock.Instant = .now) -> Admission {
        state.withLock { state in
            switch state.breaker.admit(at: now) {
            case .rejected(let retryAfter):
                state.outcomes[.circuitOpen, default: 0] += 1
                let (requests, failures) = state.breaker.counts(at: now)
                return .circuitOpen(retryAfter: retryAfter, halfOpen: state.breaker.state == .halfOpen,
                                    requests: requests, failures: failures)
            case .allowed(let ticket):
                switch state.bucket?.take(at: now, maxWait: maxWait) ?? .now {
                case .now: return .go(ticket, wait: .zero)
                case .after(let wait): return .go(ticket, wait: wait)
                case .refused(let retryAfter):
                    state.breaker.abandon(ticket)
                    state.outcomes[.rateLimited, default: 0] += 1
                    return .rateLimited(retryAfter: retryAfter)
                }
            }
        }
    }

    /// The partner answered (`failed`: 5xx or 429) or did not (`failed`: true).
    func record(_ ticket: CircuitBreaker.Ticket, failed: Bool, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.breaker.record(ticket, failed: failed, at: now)
            state.outcomes[failed ? .failure : .success, default: 0] += 1
        }
    }

    /// The request ended without telling anything about the partner; `returnToken` when it gave up while waiting for
    /// its token (it was never sent).
    func abandon(_ ticket: CircuitBreaker.Ticket, returnToken: Bool, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.breaker.abandon(ticket)
            if returnToken { state.bucket?.giveBack(at: now) }
            state.outcomes[.abandoned, default: 0] += 1
        }
    }

    /// The state as the admin API and the metrics show it.
    public func snapshot(now: ContinuousClock.Instant = .now, wallClock: Date = Date()) -> EndpointSnapshot {
        state.withLock { state in
            state.breaker.refresh(now)
            let (requests, failures) = state.breaker.counts(at: now)
            return EndpointSnapshot(
                plugin: plugin, origin: origin, state: state.breaker.state, requests: requests, failures: failures,
                openedAt: state.breaker.openedAt.map { wallClock.addingTimeInterval(-($0.duration(to: now)).seconds) },
                rateLimit: rateLimit, tokens: state.bucket?.available(at: now),
                outcomes: Dictionary(uniqueKeysWithValues: Outcome.allCases.map { ($0.rawValue, state.outcomes[$0] ?? 0) }))
        }
    }
}

/// One endpoint at one moment.
public struct EndpointSnapshot: Sendable {
    public let plugin: String
    public let origin: String
    public let state: CircuitState
    /// Outcomes counted in the circuit's current window.
    public let requests: Int
    public let failures: Int
    public let openedAt: Date?
    public let rateLimit: RateLimit?
    /// Tokens free now (nil without a rate limit).
    public let tokens: Double?
    /// Every request since start, by `Endpoint.Outcome` raw value.
    public let outcomes: [String: Int]
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
