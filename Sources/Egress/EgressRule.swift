import HTTPTransport

/// One origin a plugin may call: scheme, host and port exactly (no wildcards: the board approves hosts, not
/// patterns). `allowPrivate` lets the connection reach loopback, private or link-local addresses — off unless the
/// catalog entry says so, so a public host name that resolves to 127.0.0.1 or to the cloud metadata address is refused.
/// `rateLimit` and `circuit` govern the plugin's traffic to this origin (see `Endpoint`).
public struct EgressRule: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int
    public let allowPrivate: Bool
    /// None unless the catalog entry sets `rate_limit`.
    public let rateLimit: RateLimit?
    public let circuit: CircuitSettings

    /// Parses `scheme://host[:port]` (no path, query or credentials).
    public init(origin text: String, allowPrivate: Bool = false, rateLimit: RateLimit? = nil,
                circuit: CircuitSettings = .standard) throws(EgressRuleError) {
        let url: HTTPURL
        do { url = try HTTPURL(text) } catch { throw EgressRuleError(message: "'\(text)' is not an http(s) origin like https://host[:port]") }
        var authority = text.components(separatedBy: "://").dropFirst().joined(separator: "://")
        if authority.hasSuffix("/") { authority.removeLast() }
        guard !authority.contains(where: { "/?#@".contains($0) }) else {
            throw EgressRuleError(message: "'\(text)' must be an origin only (scheme://host[:port]), without path, query or credentials")
        }
        scheme = url.scheme
        host = url.host.lowercased()
        port = url.port
        self.allowPrivate = allowPrivate
        self.rateLimit = rateLimit
        self.circuit = circuit
    }

    /// `scheme://host:port`, the port always written: what endpoints are named by in the admin API and the metrics.
    public var origin: String { "\(scheme)://\(host):\(port)" }

    public func matches(_ url: HTTPURL) -> Bool {
        url.scheme == scheme && url.host.lowercased() == host && url.port == port
    }

    public var description: String { origin + (allowPrivate ? " (private addresses allowed)" : "") }
}

public struct EgressRuleError: Error, CustomStringConvertible, Equatable {
    public let message: String

    init(message: String) { self.message = message }

    public init(noSecretStoreFor name: String) {
        message = "no secret store is configured (secret \(name)); set CONFLUX_MASTER_KEY or create DATA/master.key"
    }
    public var description: String { message }
}

/// The origins one plugin may call. Anything else is refused before any network I/O.
public struct EgressPolicy: Sendable, Equatable {
    public let rules: [EgressRule]
    /// The secrets the plugin may have substituted into its requests (to these origins only).
    public let secrets: Set<String>

    public init(rules: [EgressRule], secrets: Set<String> = []) {
        self.rules = rules
        self.secrets = secrets
    }

    public static let none = EgressPolicy(rules: [])

    public func rule(for url: HTTPURL) -> EgressRule? { rules.first { $0.matches(url) } }

    /// The position in `rules` of the rule `rule(for:)` returns.
    func ruleIndex(for url: HTTPURL) -> Int? { rules.firstIndex { $0.matches(url) } }

    /// The address check for a request to an allowed origin: public addresses only, unless the rule allows private
    /// ones. Judged by the HTTP client on the address actually connected to (DNS rebinding cannot slip past it).
    public static func addressPolicy(for rule: EgressRule) -> AddressPolicy {
        rule.allowPrivate ? .allowAll : .publicOnly
    }
}
