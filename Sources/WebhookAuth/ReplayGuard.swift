import Foundation
import Synchronization

/// Remembers, per source, the webhook ids accepted recently, so a captured request replayed while its timestamp is
/// still inside the tolerance is refused (`replayed`). Durable dedupe is elsewhere (idempotency keys in the store);
/// this is the cheap in-memory check in front of it.
///
/// Call it only after `WebhookAuthenticator.verify` succeeded, so unauthenticated requests cannot fill it.
///
/// **Window.** A delivery timestamped T is accepted from T − tolerance to T + tolerance, so an id must be remembered
/// for twice the verifier's tolerance after it is first seen; the default window (600 s) covers the default 300 s
/// tolerance.
///
/// **Memory bound.** At most `capacity` ids (default 100,000) are kept across all sources. When full, the oldest id
/// is forgotten early, and a replay of it then passes here (durable idempotency still catches it). Each entry costs
/// the source and id strings plus roughly 100 bytes of table overhead: about 15–20 MB at 100,000 ids of ~40 bytes.
/// Expired ids are dropped as calls arrive; there is no background task.
///
/// **Retries.** Standard Webhooks senders retry with the same id. If the request that first presented an id was not
/// durably accepted (an error was answered), call `forget` so the sender's retry is not refused as a replay.
///
/// Thread-safe: all state is behind one `Mutex`; call from any thread or task.
public final class ReplayGuard: Sendable {
    public let window: TimeInterval
    public let capacity: Int
    private let state: Mutex<State>

    /// - Parameters:
    ///   - window: how long, in seconds, an id is remembered after it is first seen.
    ///   - capacity: the most ids kept at once, across all sources.
    public init(window: TimeInterval = 2 * WebhookAuthenticator.defaultTolerance, capacity: Int = 100_000) {
        precondition(window.isFinite && window >= 0, "ReplayGuard window must be a finite number of seconds ≥ 0")
        precondition(capacity > 0, "ReplayGuard capacity must be positive")
        self.window = window
        self.capacity = capacity
        self.state = Mutex(State())
    }

    /// `true` (and remembers the id) when `id` has not been seen for `source` within the window before `at`;
    /// `false` for a replay.
    public func firstSeen(_ id: String, source: String, at: Date) -> Bool {
        let key = Key(source: source, id: id)
        return state.withLock { state in
            state.dropExpired(before: at.addingTimeInterval(-window))
            if let entry = state.seen[key], at.timeIntervalSince(entry.at) < window {
                return false
            }
            while state.seen.count >= capacity { state.dropOldest() }
            state.insert(key, at: at)
            state.compactIfNeeded(capacity: capacity)
            return true
        }
    }

    /// Forgets `id` for `source`, so the next request with it counts as first seen. For when the request that
    /// presented it was not durably accepted.
    public func forget(_ id: String, source: String) {
        _ = state.withLock { $0.seen.removeValue(forKey: Key(source: source, id: id)) }
    }

    /// `firstSeen` for a verified webhook: passes it through when it has no id (Stripe, bearer) or its id is new, and
    /// fails with `replayed` otherwise.
    public func check(_ verified: WebhookAuthenticator.Verified, source: String, at: Date)
        -> Result<WebhookAuthenticator.Verified, WebhookAuthFailure>
    {
        guard let id = verified.webhookID, !firstSeen(id, source: source, at: at) else { return .success(verified) }
        return .failure(WebhookAuthFailure(
            .replayed, header: WebhookAuthenticator.standardIDHeader,
            message: "This webhook-id was already accepted for this source within the last \(Int(window)) s. A new "
                + "event needs a new webhook-id; a retry of a delivery we accepted needs no resending."))
    }

    /// How many ids are remembered now (expired ones included until the next call drops them).
    public var count: Int { state.withLock { $0.seen.count } }

    private struct Key: Hashable {
        var source: String
        var id: String
    }

    /// `seen` is the lookup table; `order` lists insertions oldest first from `head`, each tagged with a sequence
    /// number so an entry whose key was since forgotten or re-inserted is recognised as stale and skipped.
    private struct State {
        var seen: [Key: (at: Date, sequence: UInt64)] = [:]
        var order: [(key: Key, at: Date, sequence: UInt64)] = []
        var head = 0
        var nextSequence: UInt64 = 0

        mutating func insert(_ key: Key, at: Date) {
            seen[key] = (at, nextSequence)
            order.append((key, at, nextSequence))
            nextSequence += 1
        }

        /// Drops entries from the front while they are older than `cutoff`. Calls may arrive slightly out of time
        /// order; an expired entry behind a newer one waits for the next pass, and lookups check age anyway.
        mutating func dropExpired(before cutoff: Date) {
            while head < order.count, order[head].at <= cutoff { removeHead() }
        }

        /// Forgets the oldest live entry (skipping stale ones).
        mutating func dropOldest() {
            while head < order.count {
                let live = seen[order[head].key]?.sequence == order[head].sequence
                removeHead()
                if live { return }
            }
        }

        private mutating func removeHead() {
            let entry = order[head]
            if seen[entry.key]?.sequence == entry.sequence { seen.removeValue(forKey: entry.key) }
            head += 1
        }

        /// Reclaims the consumed prefix of `order`, and stale entries (from `forget`) once they outnumber live ones,
        /// so `order` stays within a small multiple of `capacity`.
        mutating func compactIfNeeded(capacity: Int) {
            if head > 1024, head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
            if order.count - head > 2 * max(capacity, seen.count) {
                order = order[head...].filter { seen[$0.key]?.sequence == $0.sequence }
                head = 0
            }
        }
    }
}
