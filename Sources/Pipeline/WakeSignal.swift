import Synchronization

/// Wakes a waiting worker loop when there may be work: a commit of new messages, or a message of its own finished
/// (capacity freed, or the next message of an ordering key became leasable). A waiter never misses a notification
/// made after it read `generation`, and still wakes after its timeout (retry backoffs, other nodes' messages).
public final class WakeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// Read before looking for work; pass to `wait(after:timeout:)`.
    public var generation: UInt64 { state.withLock { $0.generation } }

    public func notify() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns at once when notified since `seen`, else at the next notification or after `timeout`.
    public func wait(after seen: UInt64, timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let registered = state.withLock { state -> UInt64? in
                guard state.generation == seen else { return nil }
                state.nextWaiter &+= 1
                state.waiters[state.nextWaiter] = continuation
                return state.nextWaiter
            }
            guard let registered else { return continuation.resume() }
            Task {
                try? await Task.sleep(for: timeout)
                let waiter = self.state.withLock { $0.waiters.removeValue(forKey: registered) }
                waiter?.resume()
            }
        }
    }
}
