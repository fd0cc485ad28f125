import Foundation

/// The durable queue: messages, their attempts, dead letters and idempotency keys.
///
/// Every method is one transaction. Backends: `MemoryMessageStore` (tests), `SQLiteMessageStore` (the embedded
/// default); a PostgreSQL backend implements `lease` with `FOR UPDATE SKIP LOCKED` so several nodes share one queue.
/// Every backend passes the same conformance suite (Tests/StoreTests).
///
/// Leases are owned: `complete`, `retry`, `deadLetter` and `heartbeat` take the owner that leased the message and
/// fail with `StoreError.leaseLost` when the lease expired and someone else may have it — the worker must then drop
/// its result (at-least-once delivery; connectors make effects exactly-once with idempotency keys).
public protocol MessageStore: Sendable {
    /// Stores the messages in one transaction (one commit, one fsync — group commit is the caller batching), skipping
    /// those whose idempotency key was already seen in their source. Durable when it returns.
    func enqueue(_ messages: [NewMessage]) async throws -> [EnqueueOutcome]

    /// Leases up to `limit` ready messages whose time has come, oldest first, for `duration` — only messages of
    /// `source` when given (a flow's bulkhead leases for its own source). A message with an ordering key is leased only
    /// when it is the oldest unfinished message of its key and no message of that key is leased. Expired leases are
    /// taken back first.
    func lease(owner: String, limit: Int, duration: TimeInterval, now: Date, source: String?) async throws -> [StoredMessage]

    /// Extends the owner's leases (long work).
    func heartbeat(ids: [String], owner: String, until: Date) async throws

    /// Records what workers decided about leased messages — done, back to ready at a time, or dead — with their
    /// attempts, all in one transaction (group commit for acks). Each settlement succeeds or fails on its own: the
    /// result at the same index is nil when applied, or the reason it was not (`leaseLost`, `notFound`); a failure of
    /// the whole transaction throws and applies none.
    func settle(_ settlements: [Settlement]) async throws -> [StoreError?]

    func message(id: String) async throws -> StoredMessage?
    func attempts(id: String) async throws -> [AttemptRecord]
    func list(_ filter: MessageFilter) async throws -> [StoredMessage]
    /// Counts per status.
    func counts() async throws -> [MessageStatus: Int]
    /// Counts of the unfinished and dead messages only — cheap whatever the history (readiness probes call it often).
    func openCounts() async throws -> [MessageStatus: Int]

    /// Returns dead messages to ready (same id, same correlation id, history kept). Returns the ids replayed.
    func replay(ids: [String], now: Date) async throws -> [String]
    /// Deletes dead messages and their history. Returns the ids purged.
    func purge(ids: [String]) async throws -> [String]
}

/// A worker's decision about one leased message.
public struct Settlement: Sendable, Equatable {
    public enum Disposition: Sendable, Equatable {
        /// Delivered: the message is done.
        case complete
        /// Back to ready, leasable again at the given time (retry backoff).
        case retry(availableAt: Date)
        /// Dead-lettered with its history.
        case deadLetter
        /// Back to ready at the given time without counting an attempt or recording one (the host never tried: an
        /// open circuit, a rate limit); `last_error` says why.
        case deferred(availableAt: Date)

        public var status: MessageStatus {
            switch self {
            case .complete: return .done
            case .retry, .deferred: return .ready
            case .deadLetter: return .dead
            }
        }

        public var availableAt: Date? {
            switch self {
            case .retry(let at), .deferred(let at): return at
            case .complete, .deadLetter: return nil
            }
        }

        public var countsAsAttempt: Bool {
            if case .deferred = self { return false }
            return true
        }
    }

    public var id: String
    /// The lease owner; the settlement applies only while the message is still leased by it.
    public var owner: String
    public var disposition: Disposition
    public var attempt: AttemptRecord
    /// The message's correlation id, for the audit record of the settlement. A worker holds it already; when it is
    /// nil the store reads it back.
    public var correlationId: String?

    public init(id: String, owner: String, disposition: Disposition, attempt: AttemptRecord, correlationId: String? = nil) {
        self.id = id
        self.owner = owner
        self.disposition = disposition
        self.attempt = attempt
        self.correlationId = correlationId
    }
}

extension MessageStore {
    /// Marks the message done and records the attempt.
    public func complete(id: String, owner: String, attempt: AttemptRecord) async throws {
        try await settleOne(Settlement(id: id, owner: owner, disposition: .complete, attempt: attempt))
    }

    /// Puts the message back to ready at `availableAt` and records the attempt.
    public func retry(id: String, owner: String, availableAt: Date, attempt: AttemptRecord) async throws {
        try await settleOne(Settlement(id: id, owner: owner, disposition: .retry(availableAt: availableAt), attempt: attempt))
    }

    /// Dead-letters the message and records the attempt.
    public func deadLetter(id: String, owner: String, attempt: AttemptRecord) async throws {
        try await settleOne(Settlement(id: id, owner: owner, disposition: .deadLetter, attempt: attempt))
    }

    private func settleOne(_ settlement: Settlement) async throws {
        if let failure = try await settle([settlement]).first ?? nil { throw failure }
    }

    public func lease(owner: String, limit: Int, duration: TimeInterval, now: Date) async throws -> [StoredMessage] {
        try await lease(owner: owner, limit: limit, duration: duration, now: now, source: nil)
    }
}

public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The message is not leased by this owner (its lease expired, or it was never leased).
    case leaseLost(id: String, owner: String)
    case notFound(id: String)
    /// The store cannot be used (file unreadable, disk full, migrations failed): ingress answers 503.
    case unavailable(String)

    public var description: String {
        switch self {
        case .leaseLost(let id, let owner): return "message \(id) is not leased by \(owner) (lease expired or never taken)"
        case .notFound(let id): return "no message \(id)"
        case .unavailable(let reason): return "the store is unavailable: \(reason)"
        }
    }
}
