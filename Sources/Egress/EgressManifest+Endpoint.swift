import Yams

/// The per-origin settings of an egress entry:
///
/// ```yaml
/// egress:
///   - url: https://odoo.example.com
///     rate_limit: { per_second: 20, burst: 40 }     # none when absent; burst defaults to one second's worth
///     circuit: { failure_rate: 0.5, min_requests: 20, window_s: 30, open_s: 30, half_open_probes: 3 }  # the defaults
/// ```
extension EgressManifest {
    typealias Fail = (Node?, String, String) -> Problem

    static func rateLimit(_ node: Node, field: String, fail: Fail) -> (RateLimit?, [Problem]) {
        guard let fields = node.mapping else {
            return (nil, [fail(node, field, "expected a mapping {per_second:, burst:}")])
        }
        var problems = unknownKeys(fields, field: field, allowed: ["per_second", "burst"], fail: fail)
        var perSecond: Double?
        if let value = fields["per_second"] {
            perSecond = number(value, "\(field).per_second", range: 0.001...1_000_000, fail: fail, &problems)
        } else {
            problems.append(fail(node, "\(field).per_second", "missing (required): requests per second"))
        }
        let burst = fields["burst"].flatMap { integer($0, "\(field).burst", range: 1...1_000_000, fail: fail, &problems) }
        guard let perSecond, problems.isEmpty else { return (nil, problems) }
        return (RateLimit(perSecond: perSecond, burst: burst), [])
    }

    static func circuit(_ node: Node, field: String, fail: Fail) -> (CircuitSettings, [Problem]) {
        let standard = CircuitSettings.standard
        guard let fields = node.mapping else {
            return (standard, [fail(node, field, "expected a mapping {failure_rate:, min_requests:, window_s:, open_s:, half_open_probes:}")])
        }
        var problems = unknownKeys(fields, field: field,
                                   allowed: ["failure_rate", "min_requests", "window_s", "open_s", "half_open_probes"], fail: fail)
        func seconds(_ key: String, _ fallback: Duration) -> Duration {
            fields[key].flatMap { number($0, "\(field).\(key)", range: 0.01...86_400, fail: fail, &problems) }
                .map { .milliseconds(Int64(($0 * 1000).rounded())) } ?? fallback
        }
        let settings = CircuitSettings(
            failureRate: fields["failure_rate"].flatMap { number($0, "\(field).failure_rate", range: 0.01...1, fail: fail, &problems) }
                ?? standard.failureRate,
            minRequests: fields["min_requests"].flatMap { integer($0, "\(field).min_requests", range: 1...1_000_000, fail: fail, &problems) }
                ?? standard.minRequests,
            window: seconds("window_s", standard.window),
            openDuration: seconds("open_s", standard.openDuration),
            halfOpenProbes: fields["half_open_probes"].flatMap { integer($0, "\(field).half_open_probes", range: 1...1000, fail: fail, &problems) }
                ?? standard.halfOpenProbes)
        return (settings, problems)
    }

    private static func unknownKeys(_ fields: Node.Mapping, field: String, allowed: [String], fail: Fail) -> [Problem] {
        fields.compactMap { key, _ in
            allowed.contains(key.string ?? "") ? nil
                : fail(key, "\(field).\(key.string ?? "?")", "unknown key (expected \(allowed.joined(separator: ", ")))")
        }
    }

    private static func number(_ node: Node, _ field: String, range: ClosedRange<Double>, fail: Fail,
                               _ problems: inout [Problem]) -> Double? {
        guard node.scalar?.style == .plain, let value = node.float, value.isFinite, range.contains(value) else {
            problems.append(fail(node, field, "expected a number from \(bound(range.lowerBound)) to \(bound(range.upperBound))"))
            return nil
        }
        return value
    }

    private static func integer(_ node: Node, _ field: String, range: ClosedRange<Int>, fail: Fail,
                                _ problems: inout [Problem]) -> Int? {
        guard node.scalar?.style == .plain, let value = node.int, range.contains(value) else {
            problems.append(fail(node, field, "expected a whole number from \(range.lowerBound) to \(range.upperBound)"))
            return nil
        }
        return value
    }

    private static func bound(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
