import Store

/// Group commit for ingress: concurrent submissions share one `enqueue` (one transaction, one fsync), and each
/// caller resumes only after the commit that holds its message.
///
/// No timer: the first submission starts a flush at once; everything that arrives while that commit is in progress
/// goes into the next one. Under load batches grow by themselves; at low load latency is one commit.
public actor IngestBatcher {
    private let store: any MessageStore
    private let maxBatch: Int
    private var pending: [(message: NewMessage, continuation: CheckedContinuation<EnqueueOutcome, any Error>)] = []
    private var flushing = false
    /// Commits made and messages committed, to see group commit at work.
    public private(set) var commits = 0
    public private(set) var committed = 0

    public init(store: any MessageStore, maxBatch: Int = 1024) {
        self.store = store
        self.maxBatch = maxBatch
    }

    /// Returns once the message is durable (or known to be a duplicate).
    public func submit(_ message: NewMessage) async throws -> EnqueueOutcome {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((message, continuation))
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            do {
                let outcomes = try await store.enqueue(batch.map(\.message))
                commits += 1
                committed += batch.count
                for (entry, outcome) in zip(batch, outcomes) { entry.continuation.resume(returning: outcome) }
            } catch {
                for entry in batch { entry.continuation.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
