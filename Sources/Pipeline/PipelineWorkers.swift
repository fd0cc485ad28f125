import Foundation
import Logging
import ServiceLifecycle
import Store

/// All flow workers of a server, as one service: graceful shutdown stops leasing and waits for the messages in
/// flight (each bounded by its plugins' deadlines); anything not finished keeps its lease until it expires and is
/// processed again (at-least-once).
public final class PipelineWorkers: Service {
    public let workers: [FlowWorker]

    public init(flows: [FlowDefinition], store: any MessageStore, plugins: PluginDirectory, owner: String,
                leaseDuration: TimeInterval = 30, logger: Logger) {
        // One group commit for the acks of every flow: one fsync per batch of settlements.
        let settlements = GroupCommit<Settlement, StoreError?>(maxBatch: 512) { try await store.settle($0) }
        workers = flows.map {
            FlowWorker(flow: $0, store: store, plugins: plugins, owner: "\(owner)/\($0.name)", settlements: settlements,
                       leaseDuration: leaseDuration, logger: logger)
        }
    }

    /// Wakes every worker (new messages were committed).
    public func wakeAll() {
        for worker in workers { worker.wake.notify() }
    }

    public func run() async throws {
        // A service that returns ends the server's service group: with no flow to serve (all refused), wait for shutdown.
        guard !workers.isEmpty else { return try await gracefulShutdown() }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for worker in workers { group.addTask { await worker.run() } }
            }
        } onGracefulShutdown: {
            for worker in self.workers { Task { await worker.stop() } }
        }
    }
}
