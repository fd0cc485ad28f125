/// A value a host function hands back to Lua. Strings are bytes (Lua strings are byte strings); `.json` is JSON text
/// that arrives in Lua already decoded into tables.
public enum HostValue: Sendable, Equatable {
    case `nil`
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string([UInt8])
    case json([UInt8])
    /// A table of string keys and values (HTTP headers), pushed as it is: no JSON text to write and decode.
    case fields(HostFields)

    public static func text(_ string: String) -> HostValue { .string(Array(string.utf8)) }
}

/// String pairs for `HostValue.fields`, kept as the buffer the C side reads: each key and value as a 4-byte
/// little-endian length and the bytes. A key given twice ends up with the later value.
public struct HostFields: Sendable, Equatable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var count = 0

    public init() {}

    public mutating func append(_ key: some Collection<UInt8>, _ value: some Collection<UInt8>) {
        Self.appendString(key, to: &bytes)
        Self.appendString(value, to: &bytes)
        count += 1
    }

    /// The pairs back, in order (for tests and diagnostics).
    public var pairs: [(key: [UInt8], value: [UInt8])] {
        var result: [(key: [UInt8], value: [UInt8])] = []
        var at = 0
        func next() -> [UInt8] {
            let length = Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
            defer { at += 4 + length }
            return Array(bytes[(at + 4)..<(at + 4 + length)])
        }
        for _ in 0..<count { result.append((next(), next())) }
        return result
    }

    private static func appendString(_ string: some Collection<UInt8>, to bytes: inout [UInt8]) {
        precondition(string.count <= Int(UInt32.max), "a field of \(string.count) bytes does not fit a 4-byte length")
        let length = UInt32(string.count)
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 24))
        bytes.append(contentsOf: string)
    }
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
