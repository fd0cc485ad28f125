import Foundation
import Logging
import LuaRuntime
import Store

/// Processes one flow's messages: leases up to the flow's concurrency (its bulkhead, so a slow partner cannot starve
/// other flows), runs each through the plugins, and acks, retries with backoff, or dead-letters it. Leases of long
/// work are extended by a heartbeat.
public actor FlowWorker {
    public let flow: FlowDefinition
    private let store: any MessageStore
    private let processor: MessageProcessor
    private let backoff: Backoff
    private let owner: String
    private let leaseDuration: TimeInterval
    private let idleWait: UInt64
    private let logger: Logger
    private var inFlight = 0
    private var stopping = false
    /// Attempts finished, by outcome (for logs and tests).
    public private(set) var outcomes: [AttemptRecord.Outcome: Int] = [:]

    public init(flow: FlowDefinition, store: any MessageStore, plugins: PluginDirectory, owner: String,
                leaseDuration: TimeInterval = 30, idleWaitMilliseconds: UInt64 = 10, logger: Logger) {
        self.flow = flow
        self.store = store
        self.processor = MessageProcessor(flow: flow, plugins: plugins)
        self.backoff = Backoff(policy: flow.retry)
        self.owner = owner
        self.leaseDuration = leaseDuration
        self.idleWait = idleWaitMilliseconds * 1_000_000
        self.logger = logger
    }

    /// Stops leasing; `run` returns once the messages in flight are finished.
    public func stop() { stopping = true }

    public func run() async {
        await withDiscardingTaskGroup { group in
            while !stopping && !Task.isCancelled {
                let capacity = flow.concurrency - inFlight
                var leased: [StoredMessage] = []
                if capacity > 0 {
                    do {
                        leased = try await store.lease(owner: owner, limit: capacity, duration: leaseDuration, now: Date(),
                                                       source: flow.source.plugin)
                    } catch {
                        logger.error("cannot lease", metadata: ["flow": "\(flow.name)", "error": "\(error)"])
                    }
                }
                for message in leased {
                    inFlight += 1
                    group.addTask { await self.handle(message) }
                }
                if leased.isEmpty { try? await Task.sleep(nanoseconds: idleWait) }
            }
        }
    }

    private func finished(_ outcome: AttemptRecord.Outcome) {
        inFlight -= 1
        outcomes[outcome, default: 0] += 1
    }

    private func handle(_ message: StoredMessage) async {
        let number = message.attempts + 1
        let started = Date()
        let store = self.store, owner = self.owner, lease = self.leaseDuration
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(lease / 3 * 1e9))
                if Task.isCancelled { break }
                try? await store.heartbeat(ids: [message.id], owner: owner, until: Date().addingTimeInterval(lease))
            }
        }
        defer { heartbeat.cancel() }
        var metadata: Logger.Metadata = ["flow": "\(flow.name)", "message": "\(message.id)", "correlation_id": "\(message.correlationId)",
                                         "attempt": "\(number)"]
        do {
            let note = try await processor.process(message, attempt: number)
            try await store.complete(id: message.id, owner: owner, attempt: AttemptRecord(
                messageId: message.id, number: number, startedAt: started, finishedAt: Date(), outcome: .succeeded, errorMessage: nil))
            logger.debug("delivered", metadata: metadata.merging(["note": "\(note)"]) { $1 })
            finished(.succeeded)
        } catch let failure as MessageProcessor.Failure {
            let now = Date()
            metadata["error_kind"] = "\(failure.kind)"
            metadata["error"] = "\(failure.message)"
            do {
                if let next = backoff.next(after: number, failure: failure.failureClass, acceptedAt: message.acceptedAt, now: now) {
                    try await store.retry(id: message.id, owner: owner, availableAt: next, attempt: AttemptRecord(
                        messageId: message.id, number: number, startedAt: started, finishedAt: now, outcome: .retry,
                        errorKind: "\(failure.failureClass.rawValue):\(failure.kind)", errorMessage: failure.message))
                    logger.info("attempt failed; will retry", metadata: metadata.merging(["retry_at": "\(next)"]) { $1 })
                    finished(.retry)
                } else {
                    try await store.deadLetter(id: message.id, owner: owner, attempt: AttemptRecord(
                        messageId: message.id, number: number, startedAt: started, finishedAt: now, outcome: .dead,
                        errorKind: "\(failure.failureClass.rawValue):\(failure.kind)", errorMessage: failure.message))
                    logger.warning("dead-lettered", metadata: metadata)
                    finished(.dead)
                }
            } catch {
                logger.error("cannot record the attempt (the lease may have expired; the message will be retried)",
                             metadata: metadata.merging(["store_error": "\(error)"]) { $1 })
                finished(.retry)
            }
        } catch {
            logger.error("cannot ack (the lease may have expired; the message will be redelivered)",
                         metadata: metadata.merging(["store_error": "\(error)"]) { $1 })
            finished(.retry)
        }
    }
}
