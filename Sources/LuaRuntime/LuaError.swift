/// A failure of plugin code, contained by the host.
///
/// Every failure that crosses from Lua into Swift is one of these: it names the plugin, the kind of failure, the
/// plugin's file:line where it happened and a Lua traceback. The kind is a struct over a private code enum (so adding
/// a kind breaks no caller); `rawValue` is the stable code printed by the CLI and stored with dead letters.
public struct LuaError: Error, Sendable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Code: String, Sendable { case permission, cpu, memory, stack, limit, runtime, syntax }
        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// The plugin tried something the sandbox forbids (a withheld library, a global write, a binary chunk, `__gc`).
        public static let permission = Kind(.permission)
        /// The invocation ran out of its instruction budget or running time.
        public static let cpu = Kind(.cpu)
        /// The state's allocator reached its cap.
        public static let memory = Kind(.memory)
        /// Lua call depth or C-stack depth exceeded.
        public static let stack = Kind(.stack)
        /// A bounded C function refused the work (pattern steps, string size, JSON size or depth).
        public static let limit = Kind(.limit)
        /// An ordinary error raised by plugin code or by a host function it called.
        public static let runtime = Kind(.runtime)
        /// The source did not compile.
        public static let syntax = Kind(.syntax)

        public var rawValue: String { code.rawValue }
        public var description: String { code.rawValue }
        public init?(rawValue: String) {
            guard let code = Code(rawValue: rawValue) else { return nil }
            self.code = code
        }

        /// Limit breaches after which the state is recycled: Lua survives them, but the plugin's own module-level
        /// state may have been left half-updated when the invocation was cut off mid-way.
        public var mayCorruptState: Bool { self == .cpu || self == .memory || self == .stack }
    }

    public let kind: Kind
    /// The message without its location prefix.
    public let message: String
    public let plugin: String?
    /// `file:line` in the plugin's source, when Lua knew it.
    public let location: String?
    public let traceback: String?
    /// What the plugin said about retrying (`error(conflux.retryable("…"))` / `conflux.permanent`); nil when it said
    /// nothing.
    public let retryable: Bool?
    /// The earliest retry the error asked for (`retry_after_ms`: a partner's Retry-After, an open circuit).
    public let retryAfterMilliseconds: Int?
    /// The host did not even try (an open circuit, a rate limit): the message should wait without spending an attempt.
    public let deferred: Bool

    public init(kind: Kind, message: String, plugin: String? = nil, location: String? = nil, traceback: String? = nil,
                retryable: Bool? = nil, retryAfterMilliseconds: Int? = nil, deferred: Bool = false) {
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.deferred = deferred
        self.kind = kind
        self.message = message
        self.plugin = plugin
        self.location = location
        self.traceback = traceback
        self.retryable = retryable
    }

    /// The error with PHI values masked in its message, location and traceback.
    public func redacted(_ redaction: PHIRedaction) -> LuaError {
        LuaError(kind: kind, message: redaction.apply(message), plugin: plugin, location: location.map(redaction.apply),
                 traceback: traceback.map(redaction.apply), retryable: retryable, retryAfterMilliseconds: retryAfterMilliseconds,
                 deferred: deferred)
    }

    public var description: String {
        var text = "\(kind) error"
        if let plugin { text += " in plugin '\(plugin)'" }
        if let location { text += " at \(location)" }
        return text + ": \(message)"
    }

    /// Lua's own message, with what to do instead where the sandbox deliberately differs from standard Lua.
    static func withHint(_ message: String) -> String {
        if message.contains("attempt to concatenate a secret value") {
            return message + " (a secret handle does not support `..`: build one with secret.join(\"Bearer \", secret(\"name\")))"
        }
        return message
    }

    /// Splits Lua's `chunk:line: message` into location and message. Chunk names never contain ": ", so the first
    /// `:<digits>:` ends the location.
    static func splitLocation(_ text: String) -> (location: String?, message: String) {
        guard let colon = text.firstRange(of: #/:(\d+): /#) else { return (nil, text) }
        let location = String(text[..<colon.lowerBound]) + ":" + text[colon].dropFirst().dropLast(2)
        guard !location.isEmpty, !location.contains("\n") else { return (nil, text) }
        return (location, String(text[colon.upperBound...]))
    }
}
