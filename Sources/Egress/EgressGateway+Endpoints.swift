import Foundation
import HTTPTransport
import LuaRuntime

/// The endpoint's circuit and rate limit in front of a request. Both refusals are retryable failures carrying
/// `retryAfterMilliseconds`, so the pipeline defers the message to when the partner may take it instead of spending
/// an attempt on a request that cannot succeed now — and nothing is sent.
extension EgressGateway {
    enum Admitted {
        case go(CircuitBreaker.Ticket)
        case stop(PluginHTTPResult)
    }

    nonisolated(nonsending) func admit(_ endpoint: Endpoint, timeout: Duration) async -> Admitted {
        let bound = min(timeout, maxRateLimitWait)
        switch endpoint.admit(maxWait: bound, now: endpoints.now()) {
        case .circuitOpen(let retryAfter, let halfOpen, let requests, let failures):
            let why = halfOpen ? "half-open, its probes are still out"
                : "\(failures) of \(requests) requests failed within \(Self.number(endpoint.circuitWindow.seconds)) s"
            return .stop(.failure(
                message: "circuit open for \(endpoint.origin) (plugin \(endpoint.plugin)): \(why); not sent, retry in "
                    + "\(Self.milliseconds(retryAfter)) ms",
                retryable: true, retryAfterMilliseconds: Self.milliseconds(retryAfter), deferred: true))
        case .rateLimited(let retryAfter):
            let limit = endpoint.rateLimit.map { "\(Self.number($0.perSecond))/s, burst \($0.burst)" } ?? "?"
            return .stop(.failure(
                message: "rate limit of \(endpoint.origin) for plugin \(endpoint.plugin) (\(limit)): the next token is "
                    + "\(Self.milliseconds(retryAfter)) ms away, longer than a request waits (\(Self.milliseconds(bound)) ms); "
                    + "not sent, retry in \(Self.milliseconds(retryAfter)) ms",
                retryable: true, retryAfterMilliseconds: Self.milliseconds(retryAfter), deferred: true))
        case .go(let ticket, let wait):
            guard wait > .zero else { return .go(ticket) }
            // The plugin's coroutine is suspended meanwhile; other invocations of its state run.
            do {
                try await Task.sleep(for: wait)
            } catch {
                endpoint.abandon(ticket, returnToken: true, now: endpoints.now())
                return .stop(.failure(message: "cancelled while waiting for the rate limit of \(endpoint.origin)",
                                      retryable: true, retryAfterMilliseconds: nil))
            }
            return .go(ticket)
        }
    }

    /// Whole milliseconds, rounded up (a retry asked for 0.4 ms early would be refused again), at least 1.
    static func milliseconds(_ duration: Duration) -> Int {
        max(1, Int((duration.seconds * 1000).rounded(.up)))
    }

    /// A setting as written in the manifest: `20`, `0.5`.
    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.3g", value)
    }
}

extension HTTPTransportError.Code {
    /// Whether the failure says the partner is unwell (counts against its circuit): it could not be reached, did not
    /// answer in time, broke the connection or the TLS handshake, or answered garbage. Policy refusals, the plugin's
    /// own bad requests, cancellation, shutdown and our size limits say nothing about the partner.
    var isPartnerFailure: Bool {
        switch self {
        case .connectFailed, .connectTimeout, .timeout, .connectionReset, .tlsFailure, .certificateVerificationFailed,
             .invalidResponse, .other:
            return true
        default:
            return false
        }
    }
}
