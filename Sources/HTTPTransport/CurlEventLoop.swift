import CCurlShim
import Dispatch
import Executors
import Foundation
import Logging
import Synchronization

/// One dedicated thread driving one libcurl multi handle (`CURLM *`) with `curl_multi_socket_action`: libcurl says
/// which sockets it waits on and when its next timeout is (CurlEventLoop+Sockets.swift), the loop `poll`s exactly
/// those and hands libcurl the ready ones. (`curl_multi_perform` visits every transfer on every turn, with a `poll`
/// of its own for each: with 64 requests in flight that was most of this thread's time, and with 128 it collapsed.)
///
/// The loop is also a serial executor (CurlEventLoop+Executor.swift): plugin states run their invocations on it, so a
/// plugin's request is handed to libcurl, and its response handed back to the plugin, without leaving the thread.
/// Each turn runs the jobs that arrived, adds the transfers they submitted, polls, lets libcurl act on the ready
/// sockets and then on its timer, and completes the finished transfers (whose continuations enqueue the next jobs).
///
/// Threading: other threads only touch `inbox`, under its lock (besides the atomic `remoteJobs` and the pool of easy
/// handles, which has its own lock): `submit`, `cancel` and `enqueue` append to it and
/// write to the wake-up pipe while holding the lock, and the loop thread sets `stopped` under the same lock before it
/// closes the pipe, so no wake-up can reach a closed descriptor. Everything else (`multi`, `active`, `sockets`, the
/// timer, each transfer in the multi handle) belongs to the loop thread; libcurl calls the socket and timer callbacks
/// only from inside `curl_multi_socket_action`/`add_handle`/`remove_handle`, on this thread. Continuations are
/// resumed from the loop thread, never from inside a libcurl callback, and jobs run only between libcurl calls. That
/// is why `@unchecked Sendable` is safe.
final class CurlEventLoop: @unchecked Sendable {
    struct Inbox {
        var submitted: [CurlTransfer] = []
        var cancelled: [CurlTransfer] = []
        /// Jobs of the actors bound to this loop (plugin states), in arrival order.
        var jobs: [UnownedJob] = []
        /// Where jobs go once the loop has stopped (chosen then, so a client that never stops starts no job thread):
        /// actors bound to the loop keep running there, in order.
        var afterStop: SerialJobThread?
        var shuttingDown = false
        var stopped = false
        /// The loop is in (or about to enter) `poll` with an empty inbox: only then does a submission need to write
        /// to the wake-up pipe. A busy loop picks up the inbox on its next turn anyway.
        var polling = false
    }

    let inbox = Mutex(Inbox())
    let multi: UnsafeMutableRawPointer
    private let logger: Logger
    /// Transfers in the multi handle, by easy handle, each retained once (released exactly once in `finish`).
    private var active: [UnsafeMutableRawPointer: Unmanaged<CurlTransfer>] = [:]
    /// The sockets libcurl waits on and the `poll` events it wants for each (its socket callback keeps this).
    var sockets: [Int32: Int16] = [:]
    /// When libcurl wants `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)` (its timer callback keeps this).
    var timerDeadline: ContinuousClock.Instant?
    /// The wake-up pipe: other threads write a byte, the loop polls the read end.
    private let wake: (read: Int32, write: Int32)
    var wakeReadEnd: Int32 { wake.read }
    var wakeWriteEnd: Int32 { wake.write }
    private let exited = DispatchGroup()
    /// Easy handles for this loop's transfers, reused across requests.
    let easyHandles: CurlEasyPool
    /// Jobs enqueued from other threads, each a wake-up of this thread: a request made and completed on the loop adds
    /// none (tests assert that; a hop through the global executor would add one per request).
    let remoteJobs = Atomic<Int>(0)

    /// Creates the multi handle and starts its thread; nil if libcurl cannot be initialised.
    /// `threadName` is the kernel's name for the thread (15 bytes at most).
    init?(configuration: HTTPClient.Configuration, threadName: String, logger: Logger) {
        guard CurlGlobal.initialize(), let wake = Self.makeWakePipe() else { return nil }
        guard let multi = curl_multi_init() else {
            close(wake.read)
            close(wake.write)
            return nil
        }
        self.multi = multi
        self.wake = wake
        self.logger = logger
        easyHandles = CurlEasyPool(capacity: min(1024, max(configuration.maxTotalConnections, configuration.maxConnectionsPerHost, 64)))
        ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, configuration.allowHTTP2 ? CURLPIPE_MULTIPLEX : 0)
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxTotalConnections)
        // Never fewer idle connections kept than one host may have open: with a smaller cache, every request past it
        // closed its connection and the next opened one (the HTTP benchmark at 128 connections: a connect per request).
        ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(configuration.connectionCacheSize, configuration.maxConnectionsPerHost))
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, configuration.maxConcurrentStreams)
        installCallbacks()

        exited.enter()
        let thread = Thread { [self] in
            nameCurrentThread(threadName)
            Self.markCurrent(self)
            run()
            exited.leave()
        }
        thread.name = threadName
        thread.start()
    }

    /// Hands `transfer` to the loop; returns the error to complete it with instead if the loop is shutting down or
    /// the transfer was cancelled before it got here.
    func submit(_ transfer: CurlTransfer) -> HTTPTransportError? {
        inbox.withLock { inbox in
            if inbox.shuttingDown { return HTTPTransportError(.shutdown, host: transfer.url.host) }
            if transfer.cancelRequested { return HTTPTransportError(.cancelled, host: transfer.url.host) }
            inbox.submitted.append(transfer)
            if inbox.polling {
                inbox.polling = false
                Self.signal(wake.write)
            }
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
            Self.signal(wake.write)
        }
    }

    /// Fails every queued and running transfer with `shutdown`, closes every connection and stops the thread;
    /// returns once it has, unless called on a loop thread (this one or any other client's): a loop waiting for
    /// another loop that waits for it would never stop. Idempotent.
    func shutdown() {
        inbox.withLock { inbox in
            guard !inbox.shuttingDown else { return }
            inbox.shuttingDown = true
            if !inbox.stopped { Self.signal(wake.write) }
        }
        if Self.current == nil { exited.wait() }
    }

    // MARK: the loop thread

    private func run() {
        while true {
            // Jobs first: they submit transfers, which are then added in this same turn. Jobs that jobs enqueue run in
            // this turn too (a few rounds at most, so sockets are not starved).
            for _ in 0..<4 {
                let jobs = inbox.withLock { inbox in
                    defer { inbox.jobs = [] }
                    return inbox.jobs
                }
                if jobs.isEmpty { break }
                for job in jobs { run(job) }
            }
            let (submitted, cancelled, shuttingDown) = inbox.withLock { inbox in
                defer { (inbox.submitted, inbox.cancelled) = ([], []) }
                return (inbox.submitted, inbox.cancelled, inbox.shuttingDown)
            }
            if shuttingDown {
                stop(queued: submitted)
                return
            }
            // Adding a handle sets a 0 ms timer: the timeout action below starts it (connects, or reuses a
            // connection and sends the request).
            for transfer in submitted { add(transfer) }
            for transfer in cancelled where transfer.phase == .active {
                finish(transfer.easy.handle) { .failure(HTTPTransportError(.cancelled, host: $0.url.host)) }
            }
            // Sleeps until a socket is ready, libcurl's timer, a wake-up, or one second — not at all if work arrived
            // meanwhile or the timer is due.
            let idle = inbox.withLock { inbox in
                inbox.polling = inbox.submitted.isEmpty && inbox.cancelled.isEmpty && inbox.jobs.isEmpty
                    && !inbox.shuttingDown
                return inbox.polling
            }
            let ready = waitForSockets(timeout: idle ? pollTimeout() : 0)
            if idle { inbox.withLock { $0.polling = false } }
            // Ready sockets before the timer: after a long job (a plugin computing for up to its CPU limit), a
            // response that arrived meanwhile is read before the timer action, rather than after it has called the
            // transfer timed out.
            for (socket, events) in ready {
                if socket == wakeReadEnd {
                    Self.drain(wakeReadEnd)
                } else {
                    act(on: socket, events: events)
                }
            }
            if let deadline = timerDeadline, deadline <= .now {
                timerDeadline = nil
                act(on: CURL_SOCKET_TIMEOUT, events: 0)
            }
            collectFinished()
        }
    }

    /// `curl_multi_socket_action` for one ready socket (or the timer), logging a failure.
    private func act(on socket: Int32, events: Int32) {
        var running: Int32 = 0
        let code = curl_multi_socket_action(multi, socket, events, &running)
        if code != CURLM_OK {
            logger.error("curl_multi_socket_action failed", metadata: ["code": "\(code.rawValue)"])
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
            // Under the lock, so a job enqueued meanwhile cannot overtake these (see `enqueue`).
            let afterStop = SerialJobThread.next()
            inbox.afterStop = afterStop
            for job in inbox.jobs {
                afterStop.enqueue(job, runningAs: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
            inbox.jobs = []
        }
        // Cleanup may still call the socket callback (to forget its sockets); the pipe goes last.
        curl_multi_cleanup(multi)
        close(wake.read)
        close(wake.write)
        easyHandles.close()
    }
}

extension Duration {
    /// Whole milliseconds, for logs and metrics.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
