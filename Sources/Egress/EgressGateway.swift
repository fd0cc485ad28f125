import Executors
import Foundation
import HTTPTransport
import LuaRuntime
import Synchronization

/// What plugins' `http.request` goes through: the plugin's egress policy first (a refused origin is a `permission`
/// fault before any network I/O, and so is every redirect hop to one), then the endpoint's circuit breaker and rate
/// limit (see `Endpoint`), then the shared HTTP client. The message's correlation id travels as `X-Correlation-Id`
/// unless the plugin set one.
public final class EgressGateway: HTTPGateway {
    private let client: HTTPClient
    /// Every plugin's endpoints (circuit, rate limit, counters), for the admin API and the metrics.
    public let endpoints: EndpointRegistry
    private let defaultTimeout: Duration
    /// The longest a request waits for a rate-limit token (or its own timeout, if shorter); past it the request fails
    /// retryable at once, so a worker is not held for long.
    let maxRateLimitWait: Duration
    private let reveal: @Sendable (String) async throws -> [UInt8]

    /// `policies`: by plugin name; a plugin without one may call nothing. `reveal` opens a secret at send time (the
    /// vault); without one, a request that refers to a secret fails. `now` is the circuits' and rate limits' clock
    /// (tests move it by hand; waits for a token still sleep in real time).
    public init(client: HTTPClient, policies: [String: EgressPolicy], defaultTimeout: Duration = .seconds(30),
                maxRateLimitWait: Duration = .seconds(1),
                reveal: @escaping @Sendable (String) async throws -> [UInt8] = { name in
                    throw EgressRuleError(noSecretStoreFor: name)
                },
                now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.client = client
        self.endpoints = EndpointRegistry(policies: policies, now: now)
        self.defaultTimeout = defaultTimeout
        self.maxRateLimitWait = maxRateLimitWait
        self.reveal = reveal
    }

    /// The client's event loops in turn (see `HTTPClient.nextExecutor`).
    public func pluginExecutor() -> (any PluginExecutor)? { client.nextExecutor() }

    nonisolated(nonsending) public func send(_ request: PluginHTTPRequest, plugin: String, correlationId: String?) async -> PluginHTTPResult {
        let url: HTTPURL
        do { url = try HTTPURL.parsed(request.url) } catch {
            return .refused(message: "http.request: '\(Self.redacted(request.url))' is not an absolute http(s) URL")
        }
        let policy = endpoints.policy(plugin)
        guard let (rule, endpoint) = endpoints.match(plugin: plugin, url: url) else {
            let allowed = policy.rules.isEmpty ? "none" : policy.rules.map(\.origin).joined(separator: ", ")
            return .refused(message: "http.request: \(url) is not in plugin \(plugin)'s egress list (allowed: \(allowed))")
        }
        var timeout = request.timeoutMilliseconds.map { Duration.milliseconds($0) } ?? defaultTimeout
        // The invocation's wall-clock deadline bounds the whole call (the host does not race it with a timer).
        if let limit = request.finishWithin { timeout = max(.milliseconds(1), min(timeout, limit)) }
        let ticket: CircuitBreaker.Ticket
        switch await admit(endpoint, timeout: timeout) {
        case .go(let admitted): ticket = admitted
        case .stop(let result): return result
        }
        // Secrets go in only now, after the egress check, and only those the catalog entry declares.
        let substitution = SecretSubstitution(plugin: plugin, declared: policy.secrets, reveal: reveal)
        var headers: [HTTPHeader] = []
        var body = request.body
        do throws(Substitution.Failure) {
            for (name, value) in request.headers {
                headers.append(HTTPHeader(name, String(decoding: try await substitution.apply(Array(value.utf8), header: true).get(), as: UTF8.self)))
            }
            if request.bodyHasSecretReferences, let plain = body { body = try await substitution.apply(plain, header: false).get() }
        } catch {
            endpoint.abandon(ticket, returnToken: false, now: endpoints.now())
            switch error {
            case .refused(let message): return .refused(message: message)
            case .failed(let message): return .failure(message: message, retryable: true, retryAfterMilliseconds: nil)
            }
        }
        if let correlationId, !headers.contains(where: { $0.name.lowercased() == "x-correlation-id" }) {
            headers.append(HTTPHeader("X-Correlation-Id", correlationId))
        }
        // Each hop gets the address check of the rule its own origin matched: a redirect from an origin that allows
        // private addresses to one that does not must not reach loopback. Hops run one after another, so the rule
        // set before a hop is the one its connection is judged by.
        let hopRule = Mutex(rule)
        let outbound = HTTPClient.Request(
            method: request.method, url: url, headers: headers, body: body,
            timeout: timeout,
            redirects: request.maxRedirects == 0 ? .none : RedirectPolicy(maxRedirects: request.maxRedirects) { target in
                guard let next = policy.rule(for: target) else { return false }
                hopRule.withLock { $0 = next }
                return true
            },
            addressPolicy: AddressPolicy("egress") { address in
                EgressPolicy.addressPolicy(for: hopRule.withLock { $0 }).allows(address)
            })
        do {
            let response = try await client.execute(outbound)
            endpoint.record(ticket, failed: response.status == 429 || response.status >= 500, now: endpoints.now())
            return .response(status: response.status, headers: response.headers.map { ($0.name, $0.value) }, body: response.body)
        } catch {
            // `execute` throws only HTTPTransportError (typed throws).
            if error.code.isPartnerFailure {
                endpoint.record(ticket, failed: true, now: endpoints.now())
            } else {
                endpoint.abandon(ticket, returnToken: false, now: endpoints.now())
            }
            switch error.code {
            case .addressRefused, .redirectRefused:
                return .refused(message: "http.request: \(error) (plugin \(plugin); allow it in the catalog entry's egress list)")
            default:
                return .failure(message: "\(error)", retryable: error.isRetryable, retryAfterMilliseconds: nil)
            }
        }
    }

    /// A URL as it may appear in an error: without query and fragment (they can carry tokens).
    static func redacted(_ text: String) -> String {
        String(text.prefix { $0 != "?" && $0 != "#" }.prefix(200))
    }
}
