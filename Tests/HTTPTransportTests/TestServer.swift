import HTTPTransport
import Hummingbird
import ServiceLifecycle
import HummingbirdHTTP2
import HummingbirdTLS
import Logging
import NIOCore
import Synchronization
import Testing

/// What a test server saw: requests per path and the peers (client address:port) they came from.
final class ServerLog: Sendable {
    private let state = Mutex<(paths: [String], peers: [String])>(([], []))

    func record(_ path: String, peer: String) {
        state.withLock { $0.paths.append(path); $0.peers.append(peer) }
    }

    var requestCount: Int { state.withLock { $0.paths.count } }
    var paths: [String] { state.withLock { $0.paths } }
    /// Distinct client connections seen (by remote address and port).
    var connectionCount: Int { state.withLock { Set($0.peers).count } }
}

/// A request context that remembers the client's address and port, so a test can count connections.
struct PeerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peer: String

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peer = source.channel.remoteAddress?.description ?? "?"
    }
}

/// A router whose every request is logged before it is handled.
func makeRouter(log: ServerLog) -> Router<PeerContext> {
    let router = Router(context: PeerContext.self)
    router.add(middleware: LoggingMiddleware(log: log))
    return router
}

struct LoggingMiddleware: RouterMiddleware {
    typealias Context = PeerContext
    let log: ServerLog

    func handle(_ request: Request, context: PeerContext,
                next: (Request, PeerContext) async throws -> Response) async throws -> Response {
        log.record(request.uri.path, peer: context.peer)
        return try await next(request, context)
    }
}

/// How a test server speaks: plain HTTP/1.1, HTTP/1.1 over TLS, or HTTP/2 (and HTTP/1.1) over TLS with ALPN.
enum ServerKind {
    case http1
    case tls(TLSConfiguration)
    case http2(TLSConfiguration)
}

/// Runs a Hummingbird application on 127.0.0.1 with an ephemeral port for the duration of `body`.
func withServer<T: Sendable>(
    _ router: Router<PeerContext>, server kind: ServerKind = .http1,
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "test-server")
    logger.logLevel = .critical
    let app = Application(
        router: router,
        server: try {
            switch kind {
            case .http1: return .http1()
            case .tls(let tls): return try .tls(.http1(), tlsConfiguration: tls)
            case .http2(let tls): return try .http2Upgrade(tlsConfiguration: tls)
            }
        }(),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    // Stopped by a graceful shutdown, not by cancelling its task: cancelling can drop a just-accepted connection
    // before it is served, which traps in NIO ("Deinited NIOAsyncWriter without calling finish()", swift-nio #2813).
    let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await services.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("server did not start") }
        let outcome: Result<T, any Error>
            do { outcome = .success(try await body(port)) } catch { outcome = .failure(error) }
        await services.triggerGracefulShutdown()
        // A handler that never returns would hold the graceful shutdown: give up on it after 5 s.
        group.addTask { try? await Task.sleep(for: .seconds(5)); return nil }
        _ = try? await group.next()
        group.cancelAll()
        return try outcome.get()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A client for one test, shut down afterwards.
func withClient<T: Sendable>(_ configuration: HTTPClient.Configuration = .init(),
                             _ body: (HTTPClient) async throws -> T) async rethrows -> T {
    let client = HTTPClient(configuration: configuration)
    defer { client.shutdown() }
    return try await body(client)
}

/// Runs `operation` expecting an `HTTPTransportError`; fails the test if it succeeds.
func transportError(
    _ operation: () async throws(HTTPTransportError) -> HTTPClient.Response
) async -> HTTPTransportError? {
    do {
        let response = try await operation()
        Issue.record("expected an error, got status \(response.status)")
        return nil
    } catch {
        return error
    }
}
