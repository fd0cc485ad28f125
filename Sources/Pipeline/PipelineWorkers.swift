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
        workers = flows.map {
            FlowWorker(flow: $0, store: store, plugins: plugins, owner: "\(owner)/\($0.name)", leaseDuration: leaseDuration, logger: logger)
        }
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for worker in workers { group.addTask { await worker.run() } }
            }
        } onGracefulShutdown: {
            for worker in self.workers { Task { await worker.stop() } }
        }
    }
}
