import Foundation
import Logging
import LuaRuntime
import Store

/// Processes one flow's messages: leases up to the flow's concurrency (its bulkhead, so a slow partner cannot starve
/// other flows), runs each through the plugins, and acks, retries with backoff, or dead-letters it.
///
/// Acks of all flows go through one group commit (`settlements`), so a busy pipeline pays one fsync per batch of
/// acks, not per message. One heartbeat loop extends the leases of everything in flight.
public actor FlowWorker {
    public let flow: FlowDefinition
    private let store: any MessageStore
    private let processor: MessageProcessor
    private let backoff: Backoff
    private let owner: String
    private let leaseDuration: TimeInterval
    private let idlePoll: Duration
    /// Free slots that make a lease worth its transaction (a quarter of the flow's concurrency).
    private var leaseBatch: Int { max(1, flow.concurrency / 4) }
    private let settlements: GroupCommit<Settlement, StoreError?>
    private let logger: Logger
    /// Notified when new messages were committed (by ingress) and when one of ours finished.
    public nonisolated let wake = WakeSignal()
    private var inFlight: Set<String> = []
    private var stopping = false
    /// Attempts finished, by outcome (for logs and tests).
    public private(set) var outcomes: [AttemptRecord.Outcome: Int] = [:]

    public init(flow: FlowDefinition, store: any MessageStore, plugins: PluginDirectory, owner: String,
                settlements: GroupCommit<Settlement, StoreError?>? = nil,
                leaseDuration: TimeInterval = 30, idlePollMilliseconds: Int = 100, logger: Logger) {
        self.flow = flow
        self.store = store
        self.processor = MessageProcessor(flow: flow, plugins: plugins)
        self.backoff = Backoff(policy: flow.retry)
        self.owner = owner
        self.leaseDuration = leaseDuration
        self.idlePoll = .milliseconds(idlePollMilliseconds)
        self.settlements = settlements ?? GroupCommit(maxBatch: 512) { try await store.settle($0) }
        self.logger = logger
    }

    /// Stops leasing; `run` returns once the messages in flight are finished.
    public func stop() {
        stopping = true
        wake.notify()
    }

    public func run() async {
        let heartbeat = Task { await self.heartbeatLoop() }
        defer { heartbeat.cancel() }
        await withDiscardingTaskGroup { group in
            while !stopping && !Task.isCancelled {
                let seen = wake.generation
                let capacity = flow.concurrency - inFlight.count
                var leased: [StoredMessage] = []
                // Lease in batches: a lease is a write transaction, and taking one message each time one finishes made
                // the leases cost as much as the messages. Idle workers lease whatever there is at once.
                if capacity > 0 && (capacity >= leaseBatch || inFlight.isEmpty) {
                    do {
                        leased = try await store.lease(owner: owner, limit: capacity, duration: leaseDuration, now: Date(),
                                                       source: flow.source.plugin)
                    } catch {
                        logger.error("cannot lease", metadata: ["flow": "\(flow.name)", "error": "\(error)"])
                    }
                }
                for message in leased {
                    inFlight.insert(message.id)
                    group.addTask { await self.handle(message) }
                }
                if leased.isEmpty || leased.count == capacity || capacity < leaseBatch {
                    await wake.wait(after: seen, timeout: idlePoll)
                }
            }
        }
    }

    /// Extends the leases of everything in flight every third of the lease duration (long work).
    private func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int(leaseDuration * 1000 / 3)))
            let ids = Array(inFlight)
            guard !ids.isEmpty, !Task.isCancelled else { continue }
            let until = Date().addingTimeInterval(leaseDuration)
            do {
                try await store.heartbeat(ids: ids, owner: owner, until: until)
            } catch {
                // One lost lease fails the batch: extend the others one by one.
                for id in ids { try? await store.heartbeat(ids: [id], owner: owner, until: until) }
            }
        }
    }

    private func finished(_ id: String, _ outcome: AttemptRecord.Outcome) {
        inFlight.remove(id)
        outcomes[outcome, default: 0] += 1
        wake.notify()
    }

    private func handle(_ message: StoredMessage) async {
        let number = message.attempts + 1
        let started = Date()
        var settlement: Settlement
        var failure: MessageProcessor.Failure?
        do {
            _ = try await processor.process(message, attempt: number)
            settlement = Settlement(id: message.id, owner: owner, disposition: .complete, attempt: AttemptRecord(
                messageId: message.id, number: number, startedAt: started, finishedAt: Date(), outcome: .succeeded, errorMessage: nil))
        } catch let error {
            failure = error
            let now = Date()
            let errorKind = "\(error.failureClass.rawValue):\(error.kind)"
            // Attempts and age count from the last replay, if any: a replay is a fresh budget.
            if let next = backoff.next(after: number - message.retryBase, failure: error.failureClass,
                                       acceptedAt: message.retrySince ?? message.acceptedAt, now: now,
                                       retryAfter: error.retryAfter) {
                let disposition: Settlement.Disposition = error.failureClass == .deferred ? .deferred(availableAt: next) : .retry(availableAt: next)
                settlement = Settlement(id: message.id, owner: owner, disposition: disposition, attempt: AttemptRecord(
                    messageId: message.id, number: number, startedAt: started, finishedAt: now, outcome: .retry,
                    errorKind: errorKind, errorMessage: error.message))
            } else {
                settlement = Settlement(id: message.id, owner: owner, disposition: .deadLetter, attempt: AttemptRecord(
                    messageId: message.id, number: number, startedAt: started, finishedAt: now, outcome: .dead,
                    errorKind: errorKind, errorMessage: error.message))
            }
        }
        settlement.correlationId = message.correlationId
        let outcome = settlement.attempt.outcome
        do {
            if let lost = try await settlements.submit(settlement) { throw lost }
            if let failure { log(outcome, message, number, failure, settlement) }
            finished(message.id, outcome)
        } catch {
            logger.error("cannot record the attempt (the lease may have expired; the message will be redelivered)",
                         metadata: metadata(message, number).merging(["store_error": "\(error)"]) { $1 })
            finished(message.id, .retry)
        }
    }

    private func log(_ outcome: AttemptRecord.Outcome, _ message: StoredMessage, _ number: Int,
                     _ failure: MessageProcessor.Failure, _ settlement: Settlement) {
        var metadata = metadata(message, number)
        metadata["error_kind"] = "\(failure.kind)"
        metadata["error"] = "\(failure.message)"
        switch settlement.disposition {
        case .retry(let at):
            metadata["retry_at"] = "\(at)"
            logger.info("attempt failed; will retry", metadata: metadata)
        case .deferred(let at):
            metadata["retry_at"] = "\(at)"
            logger.info("not attempted (the partner's endpoint cannot take it now); deferred without spending an attempt",
                        metadata: metadata)
        default:
            logger.warning("dead-lettered", metadata: metadata)
        }
    }

    private func metadata(_ message: StoredMessage, _ number: Int) -> Logger.Metadata {
        ["flow": "\(flow.name)", "message": "\(message.id)", "correlation_id": "\(message.correlationId)", "attempt": "\(number)"]
    }
}
