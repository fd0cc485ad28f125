/// Request outcomes over a rolling window, in `slots` buckets of `window / slots` each: memory stays fixed at any
/// request rate (a list of timestamps would hold every request of the last 30 s), and the window slides in steps of
/// one bucket.
struct OutcomeWindow {
    private struct Bucket {
        var slot = Int.min
        var requests = 0
        var failures = 0
    }

    private let origin: ContinuousClock.Instant
    private let width: Duration
    private var buckets: [Bucket]

    init(window: Duration, slots: Int = 10, now: ContinuousClock.Instant) {
        origin = now
        width = window / slots
        buckets = Array(repeating: Bucket(), count: slots)
    }

    mutating func record(failed: Bool, at now: ContinuousClock.Instant) {
        let slot = self.slot(now)
        let index = slot % buckets.count
        if buckets[index].slot != slot { buckets[index] = Bucket(slot: slot) }
        buckets[index].requests += 1
        if failed { buckets[index].failures += 1 }
    }

    /// Requests and failures in the buckets that still overlap the window ending at `now`.
    func counts(at now: ContinuousClock.Instant) -> (requests: Int, failures: Int) {
        let current = slot(now)
        return buckets.filter { $0.slot > current - buckets.count && $0.slot <= current }
            .reduce((0, 0)) { ($0.0 + $1.requests, $0.1 + $1.failures) }
    }

    mutating func reset() {
        buckets = Array(repeating: Bucket(), count: buckets.count)
    }

    private func slot(_ now: ContinuousClock.Instant) -> Int {
        max(0, Int((now - origin) / width))
    }
}
