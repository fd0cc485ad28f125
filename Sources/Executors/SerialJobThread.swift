import Foundation
import Synchronization

/// What a plugin state runs on: a serial executor (the state's actor is isolated to it) that is also the task
/// executor of its invocations, so the code between the state's awaits (continuations resumed, nonisolated helpers)
/// runs on the same thread instead of hopping through the global executor and back (see `PluginInstance.invoke`).
public typealias PluginExecutor = SerialExecutor & TaskExecutor

/// A serial executor backed by one dedicated thread that runs jobs in the order they arrive.
///
/// Two uses: the home of plugin states whose host has no HTTP event loop to lend them (an actor that chooses its own
/// executor has no public way to fall back to the default one), and the place where an event loop that stopped sends
/// the jobs still addressed to it (`enqueue(_:runningAs:taskExecutor:)`), so actors bound to a stopped loop keep running, one job
/// at a time, instead of hanging.
///
/// The shared threads (`shared`, one per core) start on first use and live for the process: they cost nothing while
/// their queue is empty (the thread sleeps on a condition variable).
public final class SerialJobThread: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // `@unchecked Sendable`: the queue is reached only under `condition`'s lock.
    private struct Entry {
        let job: UnownedJob
        let executor: UnownedSerialExecutor
        let taskExecutor: UnownedTaskExecutor
    }

    private let condition = NSCondition()
    private var queue: [Entry] = []

    /// Starts the thread; `name` is what `top -H` and perf show (at most 15 bytes are kept).
    public init(name: String) {
        let thread = Thread { [self] in
            nameCurrentThread(name)
            run()
        }
        thread.name = name
        thread.start()
    }

    /// One thread per core, started on first use.
    public static let shared: [SerialJobThread] = (0..<max(1, ProcessInfo.processInfo.activeProcessorCount)).map {
        SerialJobThread(name: "conflux-jobs-\($0)")
    }
    private static let turn = Atomic<Int>(0)

    /// The shared threads in turn, to spread what is bound to them.
    public static func next() -> SerialJobThread {
        shared[turn.add(1, ordering: .relaxed).newValue % shared.count]
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        enqueue(UnownedJob(job), runningAs: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
    }

    /// Runs `job` on this thread as if on `executor` and `taskExecutor` (whose jobs must from now on all come here,
    /// so they stay in order and never overlap).
    public func enqueue(_ job: UnownedJob, runningAs executor: UnownedSerialExecutor, taskExecutor: UnownedTaskExecutor) {
        condition.lock()
        queue.append(Entry(job: job, executor: executor, taskExecutor: taskExecutor))
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor { UnownedTaskExecutor(ordinary: self) }

    private func run() -> Never {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let batch = queue
            queue = []
            condition.unlock()
            // Every job runs isolated to the serial executor and on the task executor: as both, a nonisolated job of
            // a task that prefers this thread then enters the actor without being enqueued again.
            for entry in batch { entry.job.runSynchronously(isolatedTo: entry.executor, taskExecutor: entry.taskExecutor) }
        }
    }
}
