import Executors
#if canImport(Glibc)
import Glibc
#endif

/// The loop as a serial executor and a task executor: actors that name it as theirs (plugin states, see
/// `HTTPClient.nextExecutor`) run their jobs on the loop thread between libcurl calls, and their invocations prefer it
/// as task executor. Their requests go to this loop's multi handle without a wake-up, and a finished transfer resumes
/// its caller here without crossing threads: on a 2-core machine the cross-thread hand-offs per request cost more
/// than libcurl itself.
///
/// Why both: a continuation resumes on the task's executor for nonisolated code (the global one, unless the task
/// prefers another) and only then switches to the actor. With the loop as the task's preference, and every job run
/// isolated to the loop, that is one job on this thread instead of a trip through the global pool and back.
///
/// A job must not block the thread for long: while it runs, no transfer of this loop makes progress. Plugin
/// invocations are bounded by their CPU limit, and what they wait for is asynchronous.
extension CurlEventLoop: SerialExecutor, TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if Self.current !== self { remoteJobs.add(1, ordering: .relaxed) }
        inbox.withLock { inbox in
            if inbox.stopped, let afterStop = inbox.afterStop {
                // The thread is gone: the job runs on a shared thread instead, still as this executor's (the loop
                // forwarded what was queued before it stopped under this same lock, so the order holds).
                afterStop.enqueue(job, runningAs: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
                return
            }
            inbox.jobs.append(job)
            if inbox.polling {
                inbox.polling = false
                Self.signal(wakeWriteEnd)
            }
        }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    func asUnownedTaskExecutor() -> UnownedTaskExecutor { UnownedTaskExecutor(ordinary: self) }

    /// Runs `job` on the loop thread, isolated to the loop and on it as task executor.
    func run(_ job: UnownedJob) {
        job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
    }

    /// The loop whose thread is the calling thread, if any: a request made from a job on a loop goes to that loop.
    static var current: CurlEventLoop? {
        guard let pointer = pthread_getspecific(currentKey) else { return nil }
        return Unmanaged<CurlEventLoop>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Records `loop` as the calling thread's (its own thread, which holds it until the thread ends).
    static func markCurrent(_ loop: CurlEventLoop) {
        pthread_setspecific(currentKey, Unmanaged.passUnretained(loop).toOpaque())
    }

    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "no thread-specific key left for the HTTP event loops")
        return key
    }()
}
