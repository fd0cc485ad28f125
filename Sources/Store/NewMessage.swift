import Foundation

/// A message accepted at ingress, before it is durable.
public struct NewMessage: Sendable, Equatable {
    /// Public id (returned to the sender in the 202), unique.
    public var id: String
    /// The source plugin it came in through (`POST /ingest/{source}`).
    public var source: String
    /// The idempotency key, when the sender or the source gave one: a repeat within the same source is a duplicate.
    public var idempotencyKey: String?
    /// Messages with the same ordering key are processed one at a time, in order of acceptance.
    public var orderingKey: String?
    public var correlationId: String
    public var contentType: String
    public var body: [UInt8]
    /// Headers worth keeping for the plugins (never secrets: ingress strips authorization headers).
    public var headers: [String: String]
    public var acceptedAt: Date

    public init(id: String, source: String, idempotencyKey: String? = nil, orderingKey: String? = nil,
                correlationId: String, contentType: String, body: [UInt8], headers: [String: String] = [:],
                acceptedAt: Date) {
        self.id = id
        self.source = source
        self.idempotencyKey = idempotencyKey
        self.orderingKey = orderingKey
        self.correlationId = correlationId
        self.contentType = contentType
        self.body = body
        self.headers = headers
        self.acceptedAt = acceptedAt
    }
}

/// What `enqueue` did with one message.
public enum EnqueueOutcome: Sendable, Equatable {
    /// Stored; durable when `enqueue` returns.
    case accepted(id: String)
    /// The idempotency key was seen before in this source: nothing stored; the id of the first message.
    case duplicate(firstId: String)
}
