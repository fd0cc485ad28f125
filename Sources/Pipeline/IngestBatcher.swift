import Store

/// Group commit for ingress: concurrent requests share one `enqueue`, and each answer waits for the commit that holds
/// its message. After each commit the workers are woken, so a new message does not wait for a poll.
public final class IngestBatcher: Sendable {
    private let group: GroupCommit<NewMessage, EnqueueOutcome>

    public init(store: any MessageStore, maxBatch: Int = 1024, afterCommit: @escaping @Sendable () -> Void = {}) {
        group = GroupCommit(maxBatch: maxBatch, afterCommit: afterCommit, commit: { try await store.enqueue($0) })
    }

    /// Returns once the message is durable (or known to be a duplicate).
    public func submit(_ message: NewMessage) async throws -> EnqueueOutcome {
        try await group.submit(message)
    }

    public var commits: Int { get async { await group.commits } }
    public var committed: Int { get async { await group.committed } }
}
