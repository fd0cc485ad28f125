import Logging

/// An outbound HTTP(S) client on libcurl's multi interface.
///
/// Each client owns one thread and one multi handle, so its connections (kept alive per host, multiplexed over
/// HTTP/2 where the server offers it over TLS) are shared by every request made through it. Create one per process
/// or per isolation domain and keep it: creating a client per request throws the connection cache away.
///
/// Threading: every method may be called from any thread or task. `execute` suspends the calling task until its
/// transfer completes; cancelling the task aborts the transfer.
public final class HTTPClient: Sendable {
    public let configuration: Configuration
    private let loop: CurlEventLoop?
    private let logger: Logger

    /// Starts the client's thread. `logger` gets one debug line per transfer (method, host, status or error code,
    /// milliseconds), never paths, query strings, header values or bodies.
    public init(configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "conflux.http", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.configuration = configuration
        self.logger = logger
        self.loop = CurlEventLoop(configuration: configuration, logger: logger)
        if loop == nil { logger.critical("libcurl could not be initialised; every request will fail") }
    }

    deinit { loop?.shutdown() }

    /// Fails every queued and running request with `shutdown`, closes all connections and stops the thread. Blocks
    /// briefly until the thread has stopped; idempotent. Later requests fail with `shutdown`.
    public func shutdown() { loop?.shutdown() }

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
        var url = try HTTPURL(request.url)
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
    nonisolated(nonsending) private func perform(_ request: Request, url: HTTPURL, connectTimeout: Duration,
                         timeout: Duration) async throws(HTTPTransportError) -> Response {
        guard let loop else { throw HTTPTransportError(.shutdown, host: url.host, detail: "libcurl is unavailable") }
        if Task.isCancelled { throw HTTPTransportError(.cancelled, host: url.host) }
        let transfer = try CurlTransfer(request, url: url, connectTimeout: connectTimeout, timeout: timeout,
                                        configuration: configuration, easyPool: loop.easyHandles)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CurlTransfer.Completion) in
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
