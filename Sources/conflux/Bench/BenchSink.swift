import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The loopback partner of `conflux bench pipeline`: answers every POST with 200 and counts requests and distinct
/// idempotency keys (so the effect can be checked exactly-once).
final class BenchSink: Sendable {
    private let counters = Mutex((requests: 0, keys: Set<String>()))

    var requests: Int { counters.withLock { $0.requests } }
    var distinctKeys: Int { counters.withLock { $0.keys.count } }

    /// Starts the sink on a free loopback port; returns the port and the task running it (cancel to stop).
    func start() async throws -> (port: Int, task: Task<Void, any Error>) {
        let router = Router()
        router.post("invoices") { request, _ -> Response in
            let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
            self.counters.withLock { counters in
                counters.requests += 1
                counters.keys.insert(key)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
        }
        router.get("ping") { _, _ in Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok"))) }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "bench-sink"),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: CLILogging.logger("conflux.bench.sink"))
        let task = Task { try await app.runService() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw CLIError("the bench sink did not start") }
        return (port, task)
    }
}
