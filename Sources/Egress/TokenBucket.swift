/// A token bucket that hands out future tokens: a request that finds it empty reserves the next free token and is
/// told how long to wait for it, so concurrent waiters are spaced `1 / rate` apart instead of waking together and
/// racing. `tokens` goes negative by the number of reservations outstanding.
///
/// A value type with time passed in, so it is tested without sleeping; `Endpoint` keeps it under its lock.
struct TokenBucket {
    enum Grant: Equatable {
        /// Go now.
        case now
        /// A token is reserved; go after this wait.
        case after(Duration)
        /// The wait would exceed the bound; nothing was reserved. A token is free for this request after `retryAfter`.
        case refused(retryAfter: Duration)
    }

    let limit: RateLimit
    private(set) var tokens: Double
    private var updated: ContinuousClock.Instant

    init(_ limit: RateLimit, now: ContinuousClock.Instant) {
        self.limit = limit
        tokens = Double(limit.burst)
        updated = now
    }

    /// Takes a token, or reserves the next one if it comes within `maxWait`.
    mutating func take(at now: ContinuousClock.Instant, maxWait: Duration) -> Grant {
        refill(now)
        if tokens >= 1 {
            tokens -= 1
            return .now
        }
        // To the nearest microsecond: finer is noise in the floating-point refill arithmetic.
        let wait = Duration.microseconds(Int64(((1 - tokens) / limit.perSecond * 1e6).rounded()))
        guard wait <= maxWait else { return .refused(retryAfter: wait) }
        tokens -= 1
        return .after(wait)
    }

    /// Returns a reserved token whose request gave up waiting, so the next caller does not wait for it.
    mutating func giveBack(at now: ContinuousClock.Instant) {
        refill(now)
        tokens = min(Double(limit.burst), tokens + 1)
    }

    /// Tokens free right now (reservations make it 0, never negative), for the admin API.
    mutating func available(at now: ContinuousClock.Instant) -> Double {
        refill(now)
        return max(0, tokens)
    }

    private mutating func refill(_ now: ContinuousClock.Instant) {
        guard now > updated else { return }
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(Double(limit.burst), tokens + seconds * limit.perSecond)
        updated = now
    }
}
