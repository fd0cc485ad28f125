import CLuaShim

/// The limits one Lua state runs under. Zero means "no limit" for every field.
///
/// The values come from an environment profile in `sandbox/profiles/` (see `SandboxProfile`); a catalog entry can
/// later only tighten them (`tightened(by:)`).
public struct SandboxLimits: Sendable, Equatable, Codable {
    /// Hard cap on the bytes one state's allocator may hold.
    public var memoryBytes: Int
    /// VM instructions per invocation, summed over its coroutines and across yields; C library work is charged too.
    public var instructions: Int64
    /// Running time per invocation in milliseconds (time spent waiting for host I/O does not count).
    public var cpuMilliseconds: Int64
    /// Wall-clock time per invocation in milliseconds, waits for host I/O included (monotonic clock).
    public var wallMilliseconds: Int64
    /// Lua call depth of one coroutine.
    public var callDepth: Int
    /// Largest string `string.rep`, `string.format`, `table.concat` and `string.gsub` may build.
    public var stringBytes: Int
    /// Matcher steps one `find`/`match`/`gsub` call or `gmatch` iteration may take.
    public var patternSteps: Int64
    /// Largest JSON text decoded or encoded.
    public var jsonBytes: Int
    /// Deepest JSON nesting decoded or encoded.
    public var jsonDepth: Int
    /// Instructions between two budget checks of the count hook.
    public var hookInterval: Int

    public init(memoryBytes: Int, instructions: Int64, cpuMilliseconds: Int64, wallMilliseconds: Int64, callDepth: Int,
                stringBytes: Int, patternSteps: Int64, jsonBytes: Int, jsonDepth: Int, hookInterval: Int) {
        self.memoryBytes = memoryBytes
        self.instructions = instructions
        self.cpuMilliseconds = cpuMilliseconds
        self.wallMilliseconds = wallMilliseconds
        self.callDepth = callDepth
        self.stringBytes = stringBytes
        self.patternSteps = patternSteps
        self.jsonBytes = jsonBytes
        self.jsonDepth = jsonDepth
        self.hookInterval = hookInterval
    }

    enum CodingKeys: String, CodingKey {
        case memoryBytes = "memory_bytes", instructions, cpuMilliseconds = "cpu_ms", wallMilliseconds = "wall_ms"
        case callDepth = "call_depth"
        case stringBytes = "string_bytes", patternSteps = "pattern_steps", jsonBytes = "json_bytes"
        case jsonDepth = "json_depth", hookInterval = "hook_interval"
    }

    var cValue: clua_limits {
        clua_limits(
            memory_bytes: memoryBytes, instructions: instructions, cpu_ns: cpuMilliseconds * 1_000_000,
            call_depth: Int32(clamping: callDepth), string_bytes: stringBytes, pattern_steps: patternSteps,
            json_bytes: jsonBytes, json_depth: Int32(clamping: jsonDepth), hook_interval: Int32(clamping: hookInterval))
    }

    /// Checks that the values can be enforced; returns what is wrong, naming the field.
    public func problems() -> [String] {
        var problems: [String] = []
        func nonNegative(_ name: String, _ value: Int64) {
            if value < 0 { problems.append("\(name) must be >= 0 (0 = unlimited), got \(value)") }
        }
        nonNegative("memory_bytes", Int64(memoryBytes))
        nonNegative("instructions", instructions)
        nonNegative("cpu_ms", cpuMilliseconds)
        nonNegative("wall_ms", wallMilliseconds)
        nonNegative("call_depth", Int64(callDepth))
        nonNegative("string_bytes", Int64(stringBytes))
        nonNegative("pattern_steps", patternSteps)
        nonNegative("json_bytes", Int64(jsonBytes))
        nonNegative("json_depth", Int64(jsonDepth))
        if hookInterval < 1 || hookInterval > 1_000_000 {
            problems.append("hook_interval must be between 1 and 1000000, got \(hookInterval)")
        }
        if memoryBytes != 0 && memoryBytes < 256 * 1024 {
            problems.append("memory_bytes must be at least 262144 (a state with its libraries needs ~100 KiB), got \(memoryBytes)")
        }
        return problems
    }
}
