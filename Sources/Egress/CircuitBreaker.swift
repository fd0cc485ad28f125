/// Where a circuit is: `closed` (requests flow), `open` (they fail fast), `half_open` (a few probes decide).
public enum CircuitState: String, Sendable {
    case closed, open, halfOpen = "half_open"
}

/// The circuit of one plugin to one origin: closed → open when the failure rate over the window reaches the threshold
/// → half-open after the open period (a few probes go through) → closed when every probe succeeded, open again when
/// one failed.
///
/// A value type with time passed in: its methods say what to do and the caller does it (send, fail fast), so it is
/// tested without I/O or sleeping. `Endpoint` keeps it under its lock.
struct CircuitBreaker {
    typealias State = CircuitState

    /// Handed out with each admitted request and given back with its outcome. An outcome from an earlier state (a
    /// request admitted while closed that fails after the circuit opened) must not count as a probe: the generation
    /// tells them apart.
    struct Ticket: Equatable {
        let generation: Int
        let probe: Bool
    }

    enum Admission: Equatable {
        case allowed(Ticket)
        /// Fail fast; the circuit may let requests through after `retryAfter`.
        case rejected(retryAfter: Duration)
    }

    /// How long a request refused while the probes are out is told to wait: probes normally answer well within a
    /// second, and the circuit is closed or open again by then.
    static let probeWait = Duration.seconds(1)

    let settings: CircuitSettings
    private(set) var state = State.closed
    /// When the circuit last opened (nil once closed).
    private(set) var openedAt: ContinuousClock.Instant?
    private var window: OutcomeWindow
    private var generation = 0
    private var probesInFlight = 0
    private var probeSuccesses = 0

    init(_ settings: CircuitSettings, now: ContinuousClock.Instant) {
        self.settings = settings
        window = OutcomeWindow(window: settings.window, now: now)
    }

    mutating func admit(at now: ContinuousClock.Instant) -> Admission {
        refresh(now)
        switch state {
        case .closed:
            return .allowed(Ticket(generation: generation, probe: false))
        case .open:
            return .rejected(retryAfter: openedAt.map { $0 + settings.openDuration - now } ?? settings.openDuration)
        case .halfOpen:
            guard probesInFlight + probeSuccesses < settings.halfOpenProbes else {
                return .rejected(retryAfter: min(Self.probeWait, settings.openDuration))
            }
            probesInFlight += 1
            return .allowed(Ticket(generation: generation, probe: true))
        }
    }

    /// The outcome of an admitted request: `failed` for no response, 5xx or 429.
    mutating func record(_ ticket: Ticket, failed: Bool, at now: ContinuousClock.Instant) {
        guard ticket.generation == generation else { return }
        if ticket.probe {
            probesInFlight -= 1
            if failed {
                open(now)
            } else {
                probeSuccesses += 1
                if probeSuccesses >= settings.halfOpenProbes { close() }
            }
            return
        }
        window.record(failed: failed, at: now)
        let (requests, failures) = window.counts(at: now)
        if failed, requests >= settings.minRequests, Double(failures) >= settings.failureRate * Double(requests) {
            open(now)
        }
    }

    /// An admitted request that ended without an outcome about the partner (cancelled, refused by policy, a secret
    /// that could not be read): its probe slot is freed, nothing is counted.
    mutating func abandon(_ ticket: Ticket) {
        if ticket.probe, ticket.generation == generation { probesInFlight -= 1 }
    }

    /// Moves an expired open period to half-open, so what is read afterwards is current.
    mutating func refresh(_ now: ContinuousClock.Instant) {
        if state == .open, let openedAt, now >= openedAt + settings.openDuration {
            state = .halfOpen
            generation += 1
            probesInFlight = 0
            probeSuccesses = 0
        }
    }

    func counts(at now: ContinuousClock.Instant) -> (requests: Int, failures: Int) { window.counts(at: now) }

    private mutating func open(_ now: ContinuousClock.Instant) {
        state = .open
        openedAt = now
        generation += 1
    }

    private mutating func close() {
        state = .closed
        openedAt = nil
        generation += 1
        window.reset()
    }
}
