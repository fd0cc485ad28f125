/// A value a host function hands back to Lua. Strings are bytes (Lua strings are byte strings); `.json` is JSON text
/// that arrives in Lua already decoded into tables.
public enum HostValue: Sendable, Equatable {
    case `nil`
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string([UInt8])
    case json([UInt8])

    public static func text(_ string: String) -> HostValue { .string(Array(string.utf8)) }
}

/// What a host function does next: return values, raise an error at the caller's line, end the invocation with a
/// sandbox fault, or wait for asynchronous work (the calling coroutine yields until `operation` completes).
public enum HostOutcome: Sendable {
    case values([HostValue])
    case error(String)
    case fault(LuaError.Kind, String)
    case wait(HostOperation)
}

/// Asynchronous work a host function started; the host resumes the plugin's coroutine with its outcome.
/// A transport failure is a value (`nil, "timeout"`), not an error: only misuse raises (OpenResty's convention).
///
/// The invocation's wall-clock deadline bounds every wait. An operation made with `finishingWithin` is told the time
/// left and keeps to it itself (a request's timeout, a shorter sleep), so waiting costs nothing extra; any other is
/// raced against a timer in a task group — two child tasks and a timer per wait, which showed in the HTTP benchmark's
/// profile at every request.
public struct HostOperation: Sendable {
    public let name: String
    /// Whether `perform` keeps to the time it is given.
    let boundsItself: Bool
    private let body: nonisolated(nonsending) @Sendable (Duration?) async -> HostOutcome

    /// An operation the host races against the invocation's deadline.
    public init(name: String, perform: @escaping @Sendable () async -> HostOutcome) {
        self.name = name
        boundsItself = false
        body = { _ in await perform() }
    }

    /// An operation that returns within the time it is given (nil: no limit), even if only to report that it ran out.
    public init(name: String,
                finishingWithin perform: nonisolated(nonsending) @escaping @Sendable (_ limit: Duration?) async -> HostOutcome) {
        self.name = name
        boundsItself = true
        body = perform
    }

    /// Runs on the caller's executor: the invocation's owner hands the work off only where the work itself waits.
    nonisolated(nonsending) public func perform(within limit: Duration? = nil) async -> HostOutcome {
        await body(limit)
    }
}
