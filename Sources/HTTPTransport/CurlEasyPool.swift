import CCurlShim
import Synchronization

/// Easy handles kept for reuse by one client. Creating and cleaning up a handle per request (its state, its 16 KiB
/// receive buffer) was the largest cost on the event-loop thread after the sockets themselves; `curl_easy_reset`
/// clears every option and keeps the allocations. Connections live in the multi handle's cache, not here.
///
/// Threading: any thread. A handle in the pool is in no multi handle and belongs to no transfer; `take` hands it to
/// exactly one `CurlTransfer`, whose `deinit` gives it back after the loop removed it from the multi handle.
final class CurlEasyPool: Sendable {
    private struct Handles: @unchecked Sendable {
        // Raw `CURL *` pointers, only reached under the mutex.
        var idle: [UnsafeMutableRawPointer] = []
        var closed = false
    }

    private let handles = Mutex(Handles())
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// A handle with default options: an idle one, or a new one (nil if libcurl cannot make one).
    func take() -> UnsafeMutableRawPointer? {
        if let handle = handles.withLock({ $0.idle.popLast() }) { return handle }
        guard CurlGlobal.initialize() else { return nil }
        return curl_easy_init()
    }

    /// Resets `handle` and keeps it, or cleans it up when the pool is full or closed.
    func give(_ handle: UnsafeMutableRawPointer) {
        curl_easy_reset(handle)
        let kept = handles.withLock { handles in
            guard !handles.closed, handles.idle.count < capacity else { return false }
            handles.idle.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle) }
    }

    /// Cleans up every idle handle; handles given back later are cleaned up at once.
    func close() {
        let idle = handles.withLock { handles in
            handles.closed = true
            defer { handles.idle = [] }
            return handles.idle
        }
        for handle in idle { curl_easy_cleanup(handle) }
    }
}
