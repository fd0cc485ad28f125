import Hummingbird
import Logging
import ServiceLifecycle

/// Starts a partner stand-in on 127.0.0.1 and returns its port and a task whose cancellation stops it — by a graceful
/// shutdown: cancelling the server's own task can drop a just-accepted connection, which traps in NIO
/// ("Deinited NIOAsyncWriter without calling finish()", swift-nio #2813).
func startLocalServer(_ router: Router<BasicRequestContext>) async -> (Int, Task<Void, Never>) {
    let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "local-server")
    logger.logLevel = .critical
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
    let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
    let running = Task { try await services.run() }
    let handle = Task {
        await withTaskCancellationHandler {
            _ = try? await running.value
        } onCancel: {
            Task {
                await services.triggerGracefulShutdown()
                try? await Task.sleep(for: .seconds(5))
                running.cancel()
            }
        }
    }
    var ports = stream.makeAsyncIterator()
    return (await ports.next() ?? 0, handle)
}
