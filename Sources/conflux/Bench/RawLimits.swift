import Foundation
import HTTPTransport
import Store
import StoreSQLite
import Synchronization

/// The machine's own limits for the work the pipeline does, measured with the same code paths minus everything else.
enum RawLimits {
    /// Rows per second through a fresh store: enqueue in batches of `batch`, lease them, settle them (the inserts and
    /// updates each message costs), with the store's durability (synchronous=FULL).
    static func sqlite(template: String, batch: Int, rows: Int, folder: URL) async throws -> Double {
        let events = EventTemplate(template)
        let store = try SQLiteMessageStore(path: folder.appendingPathComponent("raw-\(UUID().uuidString).sqlite").path)
        let now = Date()
        let clock = ContinuousClock()
        let start = clock.now
        var n = 0
        while n < rows {
            let messages = (n..<min(rows, n + batch)).map { i in
                NewMessage(id: "raw-\(i)", source: "bench-source", correlationId: "c\(i)", contentType: "application/json",
                           body: events.event(i), acceptedAt: now)
            }
            _ = try await store.enqueue(messages)
            let leased = try await store.lease(owner: "raw", limit: messages.count, duration: 60, now: now, source: "bench-source")
            _ = try await store.settle(leased.map {
                Settlement(id: $0.id, owner: "raw", disposition: .complete, attempt: AttemptRecord(
                    messageId: $0.id, number: 1, startedAt: now, finishedAt: now, outcome: .succeeded, errorMessage: nil))
            })
            n += messages.count
        }
        return Double(rows) / (clock.now - start).seconds
    }

    /// Sequential round trips on one kept-alive connection, in milliseconds.
    static func roundTrip(client: HTTPClient, url: String, count: Int) async -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let started = ContinuousClock.now
            guard (try? await client.execute(HTTPClient.Request(url: url))) != nil else { continue }
            samples.append((ContinuousClock.now - started).seconds * 1000)
        }
        return samples
    }

    /// Requests per second with `connections` concurrent senders.
    static func requestRate(client: HTTPClient, url: String, connections: Int, for duration: Duration) async -> Double {
        let counters = LoadGenerator.Counters()
        let deadline = ContinuousClock.now + duration
        let start = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            for _ in 0..<connections {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        if (try? await client.execute(HTTPClient.Request(url: url))) != nil { counters.sent.add(1, ordering: .relaxed) }
                    }
                }
            }
        }
        return Double(counters.sent.load(ordering: .relaxed)) / (ContinuousClock.now - start).seconds
    }
}
