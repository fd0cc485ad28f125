import Foundation
import HTTPTransport
import Synchronization

/// Posts distinct events to the ingest endpoint: closed loop (N senders, each sending as soon as its previous answer
/// came) for throughput, open loop (a fixed schedule, latency measured from the scheduled time, so a stall is not
/// hidden by sending less — no coordinated omission) for latency.
struct LoadGenerator: Sendable {
    let client: HTTPClient
    let url: String
    let template: EventTemplate

    init(client: HTTPClient, url: String, template: String) {
        self.client = client
        self.url = url
        self.template = EventTemplate(template)
    }

    private func post(_ n: Int) async -> Bool {
        let request = HTTPClient.Request(method: "POST", url: url, headers: [HTTPHeader("Content-Type", "application/json")],
                                         body: template.event(n), timeout: .seconds(30))
        guard let response = try? await client.execute(request) else { return false }
        return response.status == 202
    }

    final class Counters: Sendable {
        let sent = Atomic<Int>(0)
        let rejected = Atomic<Int>(0)
        let next = Atomic<Int>(0)
    }

    final class Samples: Sendable {
        let result = Mutex(OpenLoopResult(samples: [], failures: 0))
    }

    func closedLoop(connections: Int, for duration: Duration, counters: Counters) async {
        let deadline = ContinuousClock.now + duration
        await withDiscardingTaskGroup { group in
            for _ in 0..<connections {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        let n = counters.next.add(1, ordering: .relaxed).newValue
                        if await post(n) { counters.sent.add(1, ordering: .relaxed) } else { counters.rejected.add(1, ordering: .relaxed) }
                    }
                }
            }
        }
    }

    struct OpenLoopResult: Sendable { var samples: [Double]; var failures: Int }

    func openLoop(rate: Int, for duration: Duration, startId: Int) async -> OpenLoopResult {
        let total = Int(Double(rate) * duration.seconds)
        let results = Samples()
        let start = ContinuousClock.now + .milliseconds(50)
        await withDiscardingTaskGroup { group in
            for i in 0..<total {
                let scheduled = start + .nanoseconds(Int64(Double(i) * 1e9 / Double(rate)))
                try? await Task.sleep(until: scheduled, clock: .continuous)
                group.addTask {
                    let ok = await post(startId + i)
                    let latency = (ContinuousClock.now - scheduled).seconds * 1000
                    results.result.withLock { if ok { $0.samples.append(latency) } else { $0.failures += 1 } }
                }
            }
        }
        return results.result.withLock { $0 }
    }
}
