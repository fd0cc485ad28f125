/// Group commit: concurrent submissions share one commit (one transaction, one fsync), and each caller resumes only
/// after the commit that holds its item, with its own outcome.
///
/// No timer: the first submission starts a commit at once; everything that arrives while that commit is in progress
/// goes into the next one. Under load batches grow by themselves; at low load latency is one commit.
public actor GroupCommit<Item: Sendable, Outcome: Sendable> {
    public typealias Commit = @Sendable ([Item]) async throws -> [Outcome]

    private let maxBatch: Int
    private let commit: Commit
    private let afterCommit: @Sendable () -> Void
    private var pending: [(item: Item, continuation: CheckedContinuation<Outcome, any Error>)] = []
    private var flushing = false
    /// Commits made and items committed, to see group commit at work.
    public private(set) var commits = 0
    public private(set) var committed = 0

    /// `commit` must return one outcome per item, in order. `afterCommit` runs after each successful commit (before
    /// the callers resume), e.g. to wake the workers.
    public init(maxBatch: Int, afterCommit: @escaping @Sendable () -> Void = {}, commit: @escaping Commit) {
        self.maxBatch = maxBatch
        self.commit = commit
        self.afterCommit = afterCommit
    }

    /// Returns the item's outcome once it is committed; throws what the commit threw.
    public func submit(_ item: Item) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((item, continuation))
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
                let outcomes = try await commit(batch.map(\.item))
                guard outcomes.count == batch.count else {
                    throw GroupCommitError.outcomeCountMismatch(items: batch.count, outcomes: outcomes.count)
                }
                commits += 1
                committed += batch.count
                afterCommit()
                for (entry, outcome) in zip(batch, outcomes) { entry.continuation.resume(returning: outcome) }
            } catch {
                for entry in batch { entry.continuation.resume(throwing: error) }
            }
        }
        flushing = false
    }
}

public enum GroupCommitError: Error, CustomStringConvertible {
    case outcomeCountMismatch(items: Int, outcomes: Int)

    public var description: String {
        switch self {
        case .outcomeCountMismatch(let items, let outcomes):
            return "a group commit of \(items) items returned \(outcomes) outcomes"
        }
    }
}
