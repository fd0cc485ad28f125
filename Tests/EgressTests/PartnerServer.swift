import Hummingbird
import ServiceLifecycle
import Logging
import Synchronization

/// One request as the partner server received it.
struct ReceivedRequest: Sendable {
    let method: String
    let path: String
    /// Field names lower-cased, in arrival order.
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name == name.lowercased() }?.value
    }
}

/// What a partner server saw: every request that reached a handler, and the most requests it held at once.
final class PartnerLog: Sendable {
    private let state = Mutex<(requests: [ReceivedRequest], inFlight: Int, maxInFlight: Int)>(([], 0, 0))

    func record(_ request: ReceivedRequest) {
        state.withLock { $0.requests.append(request) }
    }

    var requests: [ReceivedRequest] { state.withLock { $0.requests } }
    var paths: [String] { requests.map(\.path) }
    var maxInFlight: Int { state.withLock { $0.maxInFlight } }

    /// Counts `body` as one request in flight while it runs.
    func inFlight<T>(_ body: () async throws -> T) async rethrows -> T {
        state.withLock { $0.inFlight += 1; $0.maxInFlight = max($0.maxInFlight, $0.inFlight) }
        defer { state.withLock { $0.inFlight -= 1 } }
        return try await body()
    }
}

/// Records each request (method, path, headers, body) before its handler runs.
struct RecordingMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: PartnerLog

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        log.record(ReceivedRequest(
            method: request.method.rawValue, path: request.uri.path,
            headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: Array(buffer: body)))
        return try await next(request, context)
    }
}

/// A fake partner API on 127.0.0.1 (ephemeral port):
/// - `POST /echo`: 201 with a JSON body describing what arrived;
/// - `GET /status/CODE`: answers CODE (429 with `Retry-After: 7`);
/// - `GET /slow`: answers after 2 s;
/// - `GET /delay`: answers after 100 ms;
/// - `GET /redirect?to=URL`: 302 to URL.
enum PartnerServer {
    static func router(log: PartnerLog) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RecordingMiddleware(log: log))
        router.post("/echo") { request, _ in
            let seen = log.requests.last { $0.path == "/echo" }
            let body = #"{"received":true,"bytes":\#(seen?.body.count ?? -1),"echo":"\#(request.headers[.contentType] ?? "")"}"#
            return Response(status: .created, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/status/:code") { _, context in
            let code = try context.parameters.require("code", as: Int.self)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            if code == 429 { headers[.retryAfter] = "7" }
            return Response(status: .init(code: code), headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: #"{"code":\#(code)}"#)))
        }
        router.get("/slow") { _, _ in
            try? await Task.sleep(for: .seconds(2))
            return Response(status: .ok)
        }
        router.get("/delay") { _, _ in
            try await log.inFlight {
                try await Task.sleep(for: .milliseconds(100))
                return Response(status: .ok, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: #"{"delayed":true}"#)))
            }
        }
        router.get("/redirect") { request, _ in
            Response(status: .found, headers: [.location: request.uri.queryParameters["to"].map(String.init) ?? "/"])
        }
        return router
    }

    /// Runs the partner server for the duration of `body`, which gets its port.
    static func run<T: Sendable>(log: PartnerLog, _ body: @Sendable (Int) async throws -> T) async throws -> T {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "partner-server")
        logger.logLevel = .critical
        let app = Application(
            router: router(log: log),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        // Stopped by a graceful shutdown, not by cancelling its task (see swift-nio #2813: a just-accepted connection
        // dropped by cancellation traps).
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await services.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw FixtureError("the partner server did not start") }
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body(port)) } catch { outcome = .failure(error) }
            await services.triggerGracefulShutdown()
            group.addTask { try? await Task.sleep(for: .seconds(5)); return nil }
            _ = try? await group.next()
            group.cancelAll()
            return try outcome.get()
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
