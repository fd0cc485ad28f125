import Foundation
import Logging
import ServiceLifecycle
import Store

/// Enqueues the scheduled runs of every flow when they fall due, through the same group commit as ingress (so a run
/// is durable before it is considered fired, and wakes the workers).
///
/// On start, the latest due time missed within `catchUp` (the server was down) is enqueued once; the idempotency key
/// makes a run that was already enqueued a duplicate, so restarts and several nodes never double a run.
public final class FlowScheduler: Service {
    public struct Entry: Sendable {
        public let flow: FlowDefinition
        public let schedule: FlowDefinition.Schedule
    }

    private let entries: [Entry]
    private let submit: @Sendable (NewMessage) async throws -> EnqueueOutcome
    private let catchUp: TimeInterval
    private let logger: Logger

    public init(flows: [FlowDefinition], catchUp: TimeInterval = 86_400, logger: Logger,
                submit: @escaping @Sendable (NewMessage) async throws -> EnqueueOutcome) {
        entries = flows.flatMap { flow in flow.schedules.map { Entry(flow: flow, schedule: $0) } }
        self.submit = submit
        self.catchUp = catchUp
        self.logger = logger
    }

    public func run() async throws {
        // A service that returns ends the server's service group: with nothing to schedule, wait for shutdown.
        guard !entries.isEmpty else { return try await gracefulShutdown() }
        let start = Date()
        for entry in entries {
            if let missed = entry.schedule.cron.latest(atOrBefore: start, within: catchUp) {
                await fire(entry, due: missed)
            }
        }
        // Cancellation (graceful shutdown) ends the sleep.
        await cancelWhenGracefulShutdown { await self.fireWhenDue(after: start) }
        if !Task.isCancelled { try? await gracefulShutdown() }
    }

    /// Sleeps until the earliest next due time (at most a minute at a time, so a changed wall clock is noticed), then
    /// fires everything due.
    private func fireWhenDue(after start: Date) async {
        var start = start
        while !Task.isCancelled {
            guard let next = entries.compactMap({ $0.schedule.cron.next(after: start) }).min() else { return }
            let wait = min(max(next.timeIntervalSinceNow, 0), 60)
            do { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) } catch { return }
            let now = Date()
            guard now >= next else { continue }
            for entry in entries {
                var due = entry.schedule.cron.next(after: start)
                while let time = due, time <= now {
                    // Only the latest of several due times missed at once (a suspended machine) runs.
                    let following = entry.schedule.cron.next(after: time)
                    if following.map({ $0 > now }) ?? true { await fire(entry, due: time) }
                    due = following
                }
            }
            start = now
        }
    }

    private func fire(_ entry: Entry, due: Date) async {
        let run = ScheduledRun(flow: entry.flow, schedule: entry.schedule, due: due)
        let metadata: Logger.Metadata = ["flow": "\(entry.flow.name)", "schedule": "\(entry.schedule.name)", "due": "\(run.due)"]
        do {
            switch try await submit(run.message(source: entry.flow.source.plugin, now: Date())) {
            case .accepted(let id): logger.info("scheduled run enqueued", metadata: metadata.merging(["message": "\(id)"]) { $1 })
            case .duplicate(let first): logger.debug("scheduled run already enqueued", metadata: metadata.merging(["message": "\(first)"]) { $1 })
            }
        } catch {
            logger.error("cannot enqueue a scheduled run; it will be missed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }
}
