import CLuaShim

/// One call of a plugin hook: its own coroutine and its own CPU budget, which survive the yields of async host calls.
///
/// Threading: confined to its `LuaState`'s owner, like the state.
final class Invocation {
    let pluginName: String
    let number: Int
    /// "plugin#n", built only when a log line or an error needs it (not on the hot path).
    var id: String { "\(pluginName)#\(number)" }
    /// The coroutine the hook runs in (anchored in the registry by `ref`).
    let thread: OpaquePointer
    let ref: Int32
    /// Instructions and running nanoseconds used so far, swapped into the sandbox around every resume.
    var instructions: Int64 = 0
    var cpuNanoseconds: Int64 = 0
    /// Monotonic time (ns) by which the invocation must have finished, waits included; 0 when unlimited.
    var wallDeadline: UInt64 = 0
    /// Arguments pushed for the first resume.
    var pendingArguments: Int32 = 0
    var started = false
    /// The operation the coroutine is waiting for, set by a host function that returned `.wait`.
    var pending: HostOperation?
    /// The coroutine (the invocation's own, or one of the plugin's inside it) whose host call is waiting: only its
    /// continuation may take the completion.
    var waitingThread: OpaquePointer?
    /// The operation's outcome, delivered to the coroutine by the continuation when it resumes.
    var completion: HostOutcome?
    /// The correlation id of the message being processed, sent along on outbound calls.
    var correlationId: String?
    /// PHI values of this invocation's input, masked in what it logs and in its error.
    var redaction: PHIRedaction?

    init(pluginName: String, number: Int, thread: OpaquePointer, ref: Int32) {
        self.pluginName = pluginName
        self.number = number
        self.thread = thread
        self.ref = ref
    }
}

/// Where an invocation stands after a resume: the state machine the owner drives.
enum InvocationStep {
    /// The hook returned; its first result, encoded or kept as asked.
    case finished(InvocationResult)
    /// The coroutine waits for `operation`; run it, store its outcome in `completion`, resume.
    case waiting(HostOperation)
    case failed(LuaError)
}
