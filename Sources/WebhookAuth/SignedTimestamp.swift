import Foundation

/// The Unix-seconds timestamps the signature schemes carry: strict parsing and the tolerance window.
enum SignedTimestamp {
    /// Decimal digits only (no sign, spaces or fraction), at most 18 of them so the value fits `Int64`.
    static func parse(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        return Int64(text)
    }

    /// `nil` when `timestamp` is within `tolerance` seconds of `now`, either side; otherwise the failure to report.
    /// A tolerance that is negative or not finite is treated as 0, so a bad configuration fails closed.
    /// `label` names the field in the message (`webhook-timestamp`, `Stripe-Signature t=`).
    static func check(_ timestamp: Int64, now: Date, tolerance: TimeInterval, header: String, label: String)
        -> WebhookAuthFailure?
    {
        let tolerance = tolerance.isFinite && tolerance >= 0 ? tolerance : 0
        let skew = now.timeIntervalSince1970 - Double(timestamp)  // positive: signed in the past
        guard abs(skew) > tolerance else { return nil }
        let seconds = Int(abs(skew).rounded())
        let direction = skew > 0 ? "in the past" : "in the future"
        return WebhookAuthFailure(
            .timestampOutOfTolerance, header: header,
            message: "\(label)\(timestamp) is \(seconds) s \(direction); this endpoint accepts timestamps within "
                + "\(Int(tolerance)) s of its clock. Each delivery attempt must carry the Unix time (seconds) at which "
                + "it was sent, signed afresh; check the sender's clock, or whether an old request is being resent.")
    }
}
