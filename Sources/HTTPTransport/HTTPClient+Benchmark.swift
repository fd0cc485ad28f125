import Synchronization

/// What `HTTPClient.benchmark` measured.
public struct HTTPBenchmarkResult: Sendable, CustomStringConvertible {
    public var requests: Int
    public var succeeded: Int
    /// Failures by error code (`timeout`, `connectionReset`, …).
    public var failures: [String: Int]
    /// Responses by status code.
    public var statuses: [Int: Int]
    public var elapsed: Duration
    /// Latency percentiles over every request, successful or not.
    public var p50: Duration
    public var p90: Duration
    public var p99: Duration
    public var max: Duration
    /// Connections opened over the run; equal to the concurrency (or less) when keep-alive works.
    public var newConnections: Int

    public var requestsPerSecond: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(requests) / seconds : 0
    }

    public var description: String {
        func ms(_ duration: Duration) -> String { "\(duration.milliseconds)ms" }
        let failed = failures.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(requests) requests, \(succeeded) ok\(failed.isEmpty ? "" : ", failed: \(failed)"), "
            + "\(Int(requestsPerSecond)) req/s, p50 \(ms(p50)) p90 \(ms(p90)) p99 \(ms(p99)) max \(ms(max)), "
            + "\(newConnections) connections"
    }
}

extension HTTPClient {
    /// Sends `request` `count` times with at most `concurrency` in flight and measures latency and throughput.
    /// For `conflux bench http`: it needs nothing but the client, and aims only at the URL it is given.
    public func benchmark(_ request: Request, count: Int, concurrency: Int) async -> HTTPBenchmarkResult {
        let tickets = Tickets(count)
        let started = ContinuousClock.now
        let samples = await withTaskGroup(of: [Sample].self) { group in
            for _ in 0..<Swift.max(1, Swift.min(concurrency, count)) {
                group.addTask {
                    var samples: [Sample] = []
                    while tickets.take() {
                        let begin = ContinuousClock.now
                        do throws(HTTPTransportError) {
                            let response = try await self.execute(request)
                            samples.append(Sample(latency: ContinuousClock.now - begin, status: response.status,
                                                  error: nil, newConnections: response.newConnections))
                        } catch {
                            samples.append(Sample(latency: ContinuousClock.now - begin, status: nil,
                                                  error: error.code.rawValue, newConnections: 0))
                        }
                    }
                    return samples
                }
            }
            return await group.reduce(into: [Sample]()) { $0.append(contentsOf: $1) }
        }
        let elapsed = ContinuousClock.now - started
        let latencies = samples.map { $0.latency }.sorted()
        func percentile(_ p: Double) -> Duration {
            latencies.isEmpty ? .zero : latencies[Swift.min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return HTTPBenchmarkResult(
            requests: samples.count,
            succeeded: samples.filter { $0.status != nil }.count,
            failures: samples.compactMap { $0.error }.reduce(into: [:]) { $0[$1, default: 0] += 1 },
            statuses: samples.compactMap { $0.status }.reduce(into: [:]) { $0[$1, default: 0] += 1 },
            elapsed: elapsed, p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99),
            max: latencies.last ?? .zero, newConnections: samples.reduce(0) { $0 + $1.newConnections }
        )
    }

    /// Hands out `count` turns to the workers.
    private final class Tickets: Sendable {
        private let remaining: Mutex<Int>
        init(_ count: Int) { remaining = Mutex(count) }
        func take() -> Bool {
            remaining.withLock { remaining in
                guard remaining > 0 else { return false }
                remaining -= 1
                return true
            }
        }
    }

    private struct Sample: Sendable {
        let latency: Duration
        let status: Int?
        let error: String?
        let newConnections: Int
    }
}
