import Foundation
import LuaRuntime

/// Whether a failure is worth another attempt. Sandbox limits and syntax errors are permanent (the same input will
/// break the same limit); a plugin says what its own errors are with `error(conflux.retryable("…"))` or
/// `error(conflux.permanent("…"))`, and an error it did not mark is permanent (a mapping bug does not fix itself;
/// the dead letter can be replayed after the fix).
public enum FailureClass: String, Sendable, Equatable {
    case retryable, permanent
    /// Not attempted: the host refused to send now (an open circuit, a rate limit). The message waits for the time
    /// asked, without spending an attempt; only the flow's maximum age still applies.
    case deferred

    public static func of(_ error: LuaError) -> FailureClass {
        switch error.kind {
        case .runtime: return error.deferred ? .deferred : error.retryable == true ? .retryable : .permanent
        default: return .permanent
        }
    }
}

/// Exponential backoff with full jitter: attempt n waits a uniformly random time in [0, min(max, base·2^(n-1))].
public struct Backoff: Sendable {
    public let policy: FlowDefinition.RetryPolicy

    public init(policy: FlowDefinition.RetryPolicy) { self.policy = policy }

    public func delay(afterAttempt attempt: Int, random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> TimeInterval {
        let exponent = Double(min(max(attempt - 1, 0), 30))
        let cap = min(Double(policy.maxDelayMilliseconds), Double(policy.baseDelayMilliseconds) * pow(2, exponent))
        return random(0...cap) / 1000
    }

    /// What happens after a failed attempt `attempt` of a message accepted at `acceptedAt`: retry at a time, or give up.
    /// A partner's `Retry-After` (`retryAfter`, seconds) is honoured: the retry is never earlier than it asks.
    public func next(after attempt: Int, failure: FailureClass, acceptedAt: Date, now: Date, retryAfter: TimeInterval? = nil,
                     random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> Date? {
        if failure == .deferred {
            let at = now.addingTimeInterval(max(retryAfter ?? 1, 0.05))
            return at.timeIntervalSince(acceptedAt) <= Double(policy.maxAgeSeconds) ? at : nil
        }
        guard failure == .retryable, attempt < policy.maxAttempts else { return nil }
        let at = now.addingTimeInterval(max(delay(afterAttempt: attempt, random: random), retryAfter ?? 0))
        guard at.timeIntervalSince(acceptedAt) <= Double(policy.maxAgeSeconds) else { return nil }
        return at
    }
}
