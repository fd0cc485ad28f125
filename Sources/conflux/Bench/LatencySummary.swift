/// Percentiles of a set of latencies, nearest-rank.
struct LatencySummary {
    let count: Int
    let p50: Double
    let p99: Double
    let p999: Double
    let max: Double

    /// `samples` in milliseconds.
    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        func rank(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            return sorted[Swift.min(sorted.count - 1, Swift.max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
        }
        p50 = rank(0.50)
        p99 = rank(0.99)
        p999 = rank(0.999)
        max = sorted.last ?? .nan
    }

    var text: String {
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        return "p50 \(f(p50)) ms, p99 \(f(p99)) ms, p999 \(f(p999)) ms, max \(f(max)) ms (\(count) requests)"
    }
}
