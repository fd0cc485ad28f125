import Foundation

/// A message as the store holds it.
public struct StoredMessage: Sendable, Equatable {
    /// Acceptance order (monotonic per store); ordering per key follows it.
    public var sequence: Int64
    public var id: String
    public var source: String
    public var idempotencyKey: String?
    public var orderingKey: String?
    public var correlationId: String
    public var contentType: String
    public var body: [UInt8]
    public var headers: [String: String]
    public var status: MessageStatus
    /// Attempts made so far (finished ones).
    public var attempts: Int
    /// When it may next be leased (retry backoff).
    public var availableAt: Date
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?
    public var acceptedAt: Date
    public var updatedAt: Date
    /// The last failure, for listings (the full history is in the attempts).
    public var lastError: String?
    /// Attempts made before the last replay: the retry policy counts attempts after it (a replay is a fresh budget).
    public var retryBase: Int = 0
    /// When it was last replayed: the policy's maximum age counts from then.
    public var retrySince: Date? = nil

    public init(sequence: Int64, id: String, source: String, idempotencyKey: String?, orderingKey: String?,
                correlationId: String, contentType: String, body: [UInt8], headers: [String: String],
                status: MessageStatus, attempts: Int, availableAt: Date, leaseOwner: String?, leaseExpiresAt: Date?,
                acceptedAt: Date, updatedAt: Date, lastError: String?) {
        self.sequence = sequence
        self.id = id
        self.source = source
        self.idempotencyKey = idempotencyKey
        self.orderingKey = orderingKey
        self.correlationId = correlationId
        self.contentType = contentType
        self.body = body
        self.headers = headers
        self.status = status
        self.attempts = attempts
        self.availableAt = availableAt
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.acceptedAt = acceptedAt
        self.updatedAt = updatedAt
        self.lastError = lastError
    }
}

/// One processing attempt, kept for the dead-letter history.
public struct AttemptRecord: Sendable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        /// Delivered; the message is done.
        case succeeded
        /// Failed with a retryable error; the message goes back to ready after its backoff.
        case retry
        /// Failed permanently, or ran out of attempts or age: the message is dead-lettered.
        case dead
    }

    public var messageId: String
    /// 1 for the first attempt.
    public var number: Int
    public var startedAt: Date
    public var finishedAt: Date
    public var outcome: Outcome
    /// Error classification (`retryable`, `permanent`, a sandbox kind like `cpu`), nil on success.
    public var errorKind: String?
    public var errorMessage: String?

    public init(messageId: String, number: Int, startedAt: Date, finishedAt: Date, outcome: Outcome,
                errorKind: String? = nil, errorMessage: String? = nil) {
        self.messageId = messageId
        self.number = number
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.errorKind = errorKind
        self.errorMessage = errorMessage
    }
}

/// Which messages a listing returns.
public struct MessageFilter: Sendable, Equatable {
    public var status: MessageStatus?
    public var source: String?
    /// Only messages with `sequence` greater than this (paging).
    public var afterSequence: Int64?
    public var limit: Int

    public init(status: MessageStatus? = nil, source: String? = nil, afterSequence: Int64? = nil, limit: Int = 100) {
        self.status = status
        self.source = source
        self.afterSequence = afterSequence
        self.limit = limit
    }
}
