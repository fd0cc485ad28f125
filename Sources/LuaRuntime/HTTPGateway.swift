import Executors

/// How a plugin's `http.request` reaches the network: the host implements it (transport, egress policy, secrets,
/// rate limits, circuit breakers) outside this target, which knows nothing of HTTP beyond these shapes.
public protocol HTTPGateway: Sendable {
    /// Performs the request for `plugin`; `correlationId` is the message's, to be sent along. Runs on the caller's
    /// executor (the plugin state's), so the response resumes the plugin without a hop through the global executor.
    nonisolated(nonsending) func send(_ request: PluginHTTPRequest, plugin: String, correlationId: String?) async -> PluginHTTPResult

    /// Where a plugin state that sends through this gateway should run its invocations (nil: anywhere). The host
    /// lends its HTTP event loops, so a request and its response never leave the state's thread.
    func pluginExecutor() -> (any PluginExecutor)?
}

extension HTTPGateway {
    public func pluginExecutor() -> (any PluginExecutor)? { nil }
}

/// A request as a plugin made it (after the prelude validated its shape).
public struct PluginHTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    /// In order, as given; names and values have no CR, LF or NUL (the prelude refuses them).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    public var timeoutMilliseconds: Int?
    /// Redirects to follow (0: none, the default).
    public var maxRedirects: Int
    /// Header values may carry secret references: a name between two 0x01 bytes, made only by the prelude from a
    /// `secret(…)` handle (plain strings may not contain 0x01). The body carries them only when this is true.
    public var bodyHasSecretReferences: Bool
    /// The invocation's remaining wall-clock time: the gateway answers within it whatever the timeout, waits for a
    /// rate limit included (nil: no limit). Set by the host when the request is sent, so not part of `==`.
    public var finishWithin: Duration?

    public static let secretMarker: UInt8 = 0x01

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
                timeoutMilliseconds: Int? = nil, maxRedirects: Int = 0, bodyHasSecretReferences: Bool = false) {
        self.bodyHasSecretReferences = bodyHasSecretReferences
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxRedirects = maxRedirects
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.method == b.method && a.url == b.url && a.headers.elementsEqual(b.headers, by: { $0 == $1 }) && a.body == b.body
            && a.timeoutMilliseconds == b.timeoutMilliseconds && a.maxRedirects == b.maxRedirects
            && a.bodyHasSecretReferences == b.bodyHasSecretReferences
    }
}

public enum PluginHTTPResult: Sendable {
    /// A response arrived (whatever its status).
    case response(status: Int, headers: [(name: String, value: String)], body: [UInt8])
    /// No response: the message says what failed (never secrets or query strings); `retryable` classifies it for the
    /// pipeline; `retryAfterMilliseconds` asks for a later retry (an open circuit, a rate limit).
    /// `deferred`: nothing was sent because the endpoint cannot take requests now (open circuit, rate limit); the
    /// pipeline puts the message back for later without spending one of its attempts.
    case failure(message: String, retryable: Bool, retryAfterMilliseconds: Int?, deferred: Bool = false)
    /// Refused by policy before any network I/O (a host outside the plugin's egress list): a `permission` fault.
    case refused(message: String)
}
