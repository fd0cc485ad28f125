import CCurlShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The loop's side of `curl_multi_socket_action`: libcurl's socket and timer callbacks record what it waits for; the
// loop `poll`s those sockets and the wake-up pipe. All of it runs on the loop thread (libcurl calls the callbacks only
// from inside the multi calls the loop makes).

extension CurlEventLoop {
    func installCallbacks() {
        let context = Unmanaged.passUnretained(self).toOpaque()
        ccurl_multi_setopt_socket_function(multi, curlSocketCallback)
        ccurl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
        ccurl_multi_setopt_timer_function(multi, curlTimerCallback)
        ccurl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
    }

    /// Milliseconds until libcurl's timer, rounded up, at most one second (a missed wake-up then costs one second).
    func pollTimeout() -> Int32 {
        guard let deadline = timerDeadline else { return 1000 }
        let left = deadline - .now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(min(1000, seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    }

    /// Polls the wake-up pipe and libcurl's sockets; returns the ready ones with their events as libcurl's
    /// `CURL_CSELECT_*` bits (the pipe's read end comes back as itself, its events unused).
    func waitForSockets(timeout: Int32) -> [(Int32, Int32)] {
        var descriptors = [pollfd(fd: wakeReadEnd, events: Int16(POLLIN), revents: 0)]
        descriptors.reserveCapacity(sockets.count + 1)
        for (socket, events) in sockets { descriptors.append(pollfd(fd: socket, events: events, revents: 0)) }
        let count = poll(&descriptors, nfds_t(descriptors.count), timeout)
        guard count > 0 else { return [] }
        var ready: [(Int32, Int32)] = []
        ready.reserveCapacity(Int(count))
        for descriptor in descriptors where descriptor.revents != 0 {
            let revents = Int32(descriptor.revents)
            var events: Int32 = 0
            // A hang-up is reported as readable: libcurl then reads the end of the stream and closes the connection.
            if revents & (Int32(POLLIN) | Int32(POLLHUP)) != 0 { events |= CURL_CSELECT_IN }
            if revents & Int32(POLLOUT) != 0 { events |= CURL_CSELECT_OUT }
            if revents & (Int32(POLLERR) | Int32(POLLNVAL)) != 0 { events |= CURL_CSELECT_ERR }
            ready.append((descriptor.fd, events))
        }
        return ready
    }

    // MARK: the wake-up pipe

    /// A non-blocking, close-on-exec pipe.
    static func makeWakePipe() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        return (ends[0], ends[1])
    }

    /// One byte into the pipe; a full pipe already wakes the loop, so a failed write is fine.
    static func signal(_ writeEnd: Int32) {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    static func drain(_ readEnd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }
}

/// `CURLMOPT_SOCKETFUNCTION`: libcurl starts, changes or stops waiting on a socket.
private let curlSocketCallback: curl_socket_callback = { _, socket, what, context, _ in
    guard let context else { return -1 }
    let loop = Unmanaged<CurlEventLoop>.fromOpaque(context).takeUnretainedValue()
    switch what {
    case CURL_POLL_IN: loop.sockets[socket] = Int16(POLLIN)
    case CURL_POLL_OUT: loop.sockets[socket] = Int16(POLLOUT)
    case CURL_POLL_INOUT: loop.sockets[socket] = Int16(POLLIN) | Int16(POLLOUT)
    default: loop.sockets[socket] = nil  // CURL_POLL_REMOVE
    }
    return 0
}

/// `CURLMOPT_TIMERFUNCTION`: when libcurl next wants a timeout action (-1: no timer).
private let curlTimerCallback: curl_multi_timer_callback = { _, milliseconds, context in
    guard let context else { return -1 }
    let loop = Unmanaged<CurlEventLoop>.fromOpaque(context).takeUnretainedValue()
    loop.timerDeadline = milliseconds < 0 ? nil : .now + .milliseconds(milliseconds)
    return 0
}
