import CCurlShim
import Dispatch
import Foundation
import Logging
import Synchronization

/// One dedicated thread driving one libcurl multi handle (`CURLM *`) with `curl_multi_perform`/`curl_multi_poll`.
///
/// Threading: other threads only touch `inbox`, under its lock: `submit` and `cancel` append to it and call
/// `curl_multi_wakeup` (the one multi function libcurl allows from another thread) while holding the lock, and the
/// loop thread sets `stopped` under the same lock before it destroys the multi handle, so no wake-up can reach a
/// freed handle. Everything else (`multi`, `active`, each transfer in it) belongs to the loop thread. Continuations
/// are resumed from the loop thread, never from inside a libcurl callback. That is why `@unchecked Sendable` is safe.
final class CurlEventLoop: @unchecked Sendable {
    private struct Inbox {
        var submitted: [CurlTransfer] = []
        var cancelled: [CurlTransfer] = []
        var shuttingDown = false
        var stopped = false
    }

    private let inbox = Mutex(Inbox())
    private let multi: UnsafeMutableRawPointer
    private let logger: Logger
    /// Transfers in the multi handle, by easy handle, each retained once (released exactly once in `finish`).
    private var active: [UnsafeMutableRawPointer: Unmanaged<CurlTransfer>] = [:]
    private let exited = DispatchGroup()
    private let loopThread = Mutex<pthread_t?>(nil)

    /// Creates the multi handle and starts its thread; nil if libcurl cannot be initialised.
    init?(configuration: HTTPClient.Configuration, logger: Logger) {
        guard CurlGlobal.initialize(), let multi = curl_multi_init() else { return nil }
        self.multi = multi
        self.logger = logger
        ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, configuration.allowHTTP2 ? CURLPIPE_MULTIPLEX : 0)
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxTotalConnections)
        ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.connectionCacheSize)
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, configuration.maxConcurrentStreams)

        exited.enter()
        let thread = Thread { [self] in
            loopThread.withLock { $0 = pthread_self() }
            run()
            exited.leave()
        }
        thread.name = "conflux-http-\(configuration.name)"
        thread.start()
    }

    /// Hands `transfer` to the loop; returns the error to complete it with instead if the loop is shutting down or
    /// the transfer was cancelled before it got here.
    func submit(_ transfer: CurlTransfer) -> HTTPTransportError? {
        inbox.withLock { inbox in
            if inbox.shuttingDown { return HTTPTransportError(.shutdown, host: transfer.url.host) }
            if transfer.cancelRequested { return HTTPTransportError(.cancelled, host: transfer.url.host) }
            inbox.submitted.append(transfer)
            curl_multi_wakeup(multi)
            return nil
        }
    }

    /// Asks the loop to abort `transfer` (remove it from the multi handle and fail it with `cancelled`). Harmless
    /// if it already finished; if it has not been submitted yet, `submit` will refuse it.
    func cancel(_ transfer: CurlTransfer) {
        inbox.withLock { inbox in
            transfer.cancelRequested = true
            guard !inbox.stopped else { return }
            inbox.cancelled.append(transfer)
            curl_multi_wakeup(multi)
        }
    }

    /// Fails every queued and running transfer with `shutdown`, closes every connection and stops the thread;
    /// returns once it has (unless called on the loop thread itself). Idempotent.
    func shutdown() {
        inbox.withLock { inbox in
            guard !inbox.shuttingDown else { return }
            inbox.shuttingDown = true
            curl_multi_wakeup(multi)
        }
        let onLoopThread = loopThread.withLock { thread in thread.map { pthread_equal($0, pthread_self()) != 0 } }
        if onLoopThread != true { exited.wait() }
    }

    // MARK: the loop thread

    private func run() {
        var running: Int32 = 0
        while true {
            let (submitted, cancelled, shuttingDown) = inbox.withLock { inbox in
                defer { (inbox.submitted, inbox.cancelled) = ([], []) }
                return (inbox.submitted, inbox.cancelled, inbox.shuttingDown)
            }
            if shuttingDown {
                stop(queued: submitted)
                return
            }
            for transfer in submitted { add(transfer) }
            for transfer in cancelled where transfer.phase == .active {
                finish(transfer.easy.handle) { .failure(HTTPTransportError(.cancelled, host: $0.url.host)) }
            }

            let performed = curl_multi_perform(multi, &running)
            if performed != CURLM_OK {
                logger.error("curl_multi_perform failed", metadata: ["code": "\(performed.rawValue)"])
            }
            collectFinished()
            // Sleeps until a socket is ready, libcurl's next timeout, a wake-up, or one second.
            let polled = curl_multi_poll(multi, nil, 0, 1000, nil)
            if polled != CURLM_OK {
                logger.error("curl_multi_poll failed", metadata: ["code": "\(polled.rawValue)"])
            }
        }
    }

    private func add(_ transfer: CurlTransfer) {
        let retained = Unmanaged.passRetained(transfer)
        let code = curl_multi_add_handle(multi, transfer.easy.handle)
        guard code == CURLM_OK else {
            retained.release()
            transfer.phase = .finished
            let detail = String(cString: curl_multi_strerror(code))
            complete(transfer, .failure(HTTPTransportError(.other, host: transfer.url.host, detail: detail)))
            return
        }
        transfer.phase = .active
        active[transfer.easy.handle] = retained
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            // The message is only valid until the handle is removed: read it first.
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            finish(handle) { $0.outcome(code) }
        }
    }

    /// Removes an active transfer from the multi handle, completes it and drops the loop's retain.
    private func finish(_ handle: UnsafeMutableRawPointer,
                        _ result: (CurlTransfer) -> Result<HTTPClient.Response, HTTPTransportError>) {
        guard let retained = active.removeValue(forKey: handle) else { return }
        let transfer = retained.takeUnretainedValue()
        curl_multi_remove_handle(multi, handle)
        transfer.phase = .finished
        complete(transfer, result(transfer))
        retained.release()
    }

    private func complete(_ transfer: CurlTransfer, _ result: Result<HTTPClient.Response, HTTPTransportError>) {
        if logger.logLevel <= .debug {
            var metadata: Logger.Metadata = ["method": "\(transfer.method)", "host": "\(transfer.url.host)"]
            switch result {
            case .success(let response):
                metadata["status"] = "\(response.status)"
                metadata["ms"] = "\(response.timings.total.milliseconds)"
            case .failure(let error):
                metadata["error"] = "\(error.code)"
            }
            logger.debug("http transfer finished", metadata: metadata)
        }
        transfer.completion?.resume(returning: result)
        transfer.completion = nil
    }

    private func stop(queued: [CurlTransfer]) {
        for transfer in queued {
            transfer.phase = .finished
            complete(transfer, .failure(HTTPTransportError(.shutdown, host: transfer.url.host)))
        }
        for handle in Array(active.keys) {
            finish(handle) { .failure(HTTPTransportError(.shutdown, host: $0.url.host)) }
        }
        inbox.withLock { inbox in
            inbox.stopped = true
            inbox.cancelled = []
        }
        curl_multi_cleanup(multi)
    }
}

extension Duration {
    /// Whole milliseconds, for logs and metrics.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
