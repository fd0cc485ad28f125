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
public struct HostOperation: Sendable {
    public let name: String
    public let perform: @Sendable () async -> HostOutcome

    public init(name: String, perform: @escaping @Sendable () async -> HostOutcome) {
        self.name = name
        self.perform = perform
    }
}
