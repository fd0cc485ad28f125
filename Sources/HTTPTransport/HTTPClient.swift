import Executors
import Logging
import Synchronization

/// An outbound HTTP(S) client on libcurl's multi interface.
///
/// Each client owns `configuration.eventLoops` threads, each with one multi handle whose connections (kept alive per
/// host, multiplexed over HTTP/2 where the server offers it over TLS) are shared by every request that loop carries.
/// Create one per process or per isolation domain and keep it: creating a client per request throws the connection
/// cache away.
///
/// The loops are serial executors too (`nextExecutor`): an actor running on one sends its requests through that loop
/// and is resumed on it, with no thread hop. Requests from anywhere else go to the loops in turn.
///
/// Threading: every method may be called from any thread or task. `execute` suspends the calling task until its
/// transfer completes; cancelling the task aborts the transfer.
public final class HTTPClient: Sendable {
    public let configuration: Configuration
    /// Empty when libcurl could not be initialised (every request then fails with `shutdown`).
    private let loops: [CurlEventLoop]
    /// Round-robin positions: one for binding actors to loops, one for requests from outside the loops, so the
    /// second cannot skew the first (two states of one pool landing on the same loop).
    private let executorTurn = Atomic<Int>(0)
    private let requestTurn = Atomic<Int>(0)
    private let logger: Logger

    /// Starts the client's thread. `logger` gets one debug line per transfer (method, host, status or error code,
    /// milliseconds), never paths, query strings, header values or bodies.
    public init(configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "conflux.http", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.configuration = configuration
        self.logger = logger
        let count = configuration.eventLoops
        var loops: [CurlEventLoop] = []
        for index in 0..<count {
            let name = count == 1 ? "http-\(configuration.name)" : "http-\(configuration.name)-\(index)"
            guard let loop = CurlEventLoop(configuration: configuration.share(of: count, index: index), threadName: name,
                                           logger: logger) else { break }
            loops.append(loop)
        }
        if loops.count < count {
            for loop in loops { loop.shutdown() }
            loops = []
            logger.critical("libcurl could not be initialised; every request will fail")
        }
        self.loops = loops
    }

    deinit { shutdown() }

    /// Fails every queued and running request with `shutdown`, closes all connections and stops the threads. Blocks
    /// briefly until the threads have stopped, except when called on an event-loop thread (of any client), where it
    /// only asks them to stop; idempotent. Later requests fail with `shutdown`. Actors bound to a loop
    /// (`nextExecutor`) keep running, on a shared thread.
    public func shutdown() {
        for loop in loops { loop.shutdown() }
    }

    /// An executor for an actor that makes requests through this client: the loops in turn, so the actors bound to
    /// them spread over the loops' threads. Jobs run between libcurl calls on the loop thread, so they must not
    /// block (see `CurlEventLoop+Executor.swift`).
    public func nextExecutor() -> any PluginExecutor {
        guard !loops.isEmpty else { return SerialJobThread.next() }
        return loops[executorTurn.add(1, ordering: .relaxed).newValue % loops.count]
    }

    /// Jobs enqueued on the loops from other threads so far (see `CurlEventLoop.remoteJobs`).
    var remoteJobsEnqueued: Int { loops.reduce(0) { $0 + $1.remoteJobs.load(ordering: .relaxed) } }

    /// The loop for a request made now: the calling thread's own loop when it is one of this client's (no hop), else
    /// the loops in turn.
    private func pickLoop() -> CurlEventLoop? {
        guard loops.count > 1 else { return loops.first }
        if let current = CurlEventLoop.current, loops.contains(where: { $0 === current }) { return current }
        return loops[requestTurn.add(1, ordering: .relaxed).newValue % loops.count]
    }

    /// The libcurl version string, for diagnostics (`conflux doctor`, bench reports).
    public static var libcurlVersion: String { CurlGlobal.version }

    /// Sends `request` and returns the complete response, following redirects only if `request.redirects` allows.
    /// Any status code is a response, not an error; errors are transport failures, refusals and limits.
    /// Runs on the caller's executor until the transfer is handed to the loop, and resumes there when it completes.
    nonisolated(nonsending) public func execute(_ request: Request) async throws(HTTPTransportError) -> Response {
        let started = ContinuousClock.now
        let timeout = request.timeout ?? configuration.timeout
        let connectTimeout = request.connectTimeout ?? configuration.connectTimeout
        var hop = request
        var url: HTTPURL
        if let parsed = request.parsedURL { url = parsed } else { url = try HTTPURL.parsed(request.url) }
        var redirects = 0
        var newConnections = 0

        while true {
            let remaining = timeout - (ContinuousClock.now - started)
            guard remaining > .zero else {
                throw HTTPTransportError(.timeout, host: url.host, detail: "no time left for redirect \(redirects)")
            }
            var response = try await perform(hop, url: url, connectTimeout: connectTimeout, timeout: remaining)
            newConnections += response.newConnections
            response.newConnections = newConnections
            response.redirectCount = redirects

            guard let next = try redirect(from: response, of: hop, policy: request.redirects, redirects: redirects)
            else { return response }
            (hop, url) = next
            redirects += 1
        }
    }

    /// One hop: a transfer on the loop, awaited; cancelling the task cancels the transfer.
    ///
    /// Takes the caller's isolation as a parameter, not `nonisolated(nonsending)`: the closure handed to
    /// `withTaskCancellationHandler` runs on the caller's executor only if it captures an isolated parameter. Without
    /// that it ran on the global executor, and a plugin state on a loop paid two extra thread hops per request (into
    /// the closure, and the continuation resuming there before switching back).
    private func perform(_ request: Request, url: HTTPURL, connectTimeout: Duration, timeout: Duration,
                         isolation: isolated (any Actor)? = #isolation) async throws(HTTPTransportError) -> Response {
        guard let loop = pickLoop() else {
            throw HTTPTransportError(.shutdown, host: url.host, detail: "libcurl is unavailable")
        }
        if Task.isCancelled { throw HTTPTransportError(.cancelled, host: url.host) }
        let transfer = try CurlTransfer(request, url: url, connectTimeout: connectTimeout, timeout: timeout,
                                        configuration: configuration, easyPool: loop.easyHandles)
        let result = await withTaskCancellationHandler {
            _ = isolation  // the capture that keeps this closure on the caller's executor (see above)
            return await withUnsafeContinuation { (continuation: CurlTransfer.Completion) in
                transfer.completion = continuation
                if let refused = loop.submit(transfer) {
                    transfer.completion = nil
                    continuation.resume(returning: .failure(refused))
                }
            }
        } onCancel: {
            loop.cancel(transfer)
        }
        return try result.get()
    }
}
