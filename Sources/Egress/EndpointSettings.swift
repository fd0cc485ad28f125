/// How fast a plugin may call one origin: a token bucket refilled at `perSecond`, holding at most `burst` tokens.
/// Partners publish limits per client; going over them earns 429s that count against the circuit, so the host keeps
/// under them instead.
public struct RateLimit: Sendable, Equatable {
    public let perSecond: Double
    public let burst: Int

    /// `burst` defaults to one second's worth of tokens (at least one).
    public init(perSecond: Double, burst: Int? = nil) {
        self.perSecond = perSecond
        self.burst = burst ?? max(1, Int(perSecond.rounded(.up)))
    }
}

/// When a plugin's circuit to one origin opens, and how it recovers. Outcomes are counted over a rolling `window`;
/// the circuit opens when at least `minRequests` were seen and the share of failures reaches `failureRate`. It stays
/// open for `openDuration` (requests fail at once, retryable, without network I/O), then lets `halfOpenProbes`
/// requests through: all of them succeeding closes it, any failing reopens it.
public struct CircuitSettings: Sendable, Equatable {
    public let failureRate: Double
    public let minRequests: Int
    public let window: Duration
    public let openDuration: Duration
    public let halfOpenProbes: Int

    public init(failureRate: Double = 0.5, minRequests: Int = 20, window: Duration = .seconds(30),
                openDuration: Duration = .seconds(30), halfOpenProbes: Int = 3) {
        self.failureRate = failureRate
        self.minRequests = minRequests
        self.window = window
        self.openDuration = openDuration
        self.halfOpenProbes = halfOpenProbes
    }

    /// What an egress entry without `circuit:` gets: half of at least 20 requests failing within 30 s opens it for 30 s.
    public static let standard = CircuitSettings()
}
