import Foundation
import GRDB
import Store
import StoreSQLite
import Testing

/// The audit chain: records written with the changes they record, and every kind of tampering named by verify.
@Suite struct AuditChainTests {
    static func store() throws -> (SQLiteMessageStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-audit-\(UUID().uuidString)/queue.sqlite").path
        return (try SQLiteMessageStore(path: path), path)
    }

    /// A store with a few lifecycle records: received (2 batches), delivered, dead-lettered, replayed, an admin call.
    static func populated() async throws -> (SQLiteMessageStore, String) {
        let (store, path) = try store()
        let t0 = Date(timeIntervalSince1970: 1_795_000_000)
        _ = try await store.enqueue([NewMessage(id: "m1", source: "s", correlationId: "c1", contentType: "application/json", body: [], acceptedAt: t0),
                                     NewMessage(id: "m2", source: "s", correlationId: "c2", contentType: "application/json", body: [], acceptedAt: t0)])
        _ = try await store.enqueue([NewMessage(id: "m3", source: "s", correlationId: "c3", contentType: "application/json", body: [], acceptedAt: t0)])
        _ = try await store.lease(owner: "w", limit: 3, duration: 30, now: t0)
        let attempt = { (id: String, outcome: AttemptRecord.Outcome) in
            AttemptRecord(messageId: id, number: 1, startedAt: t0, finishedAt: t0, outcome: outcome, errorMessage: nil)
        }
        _ = try await store.settle([Settlement(id: "m1", owner: "w", disposition: .complete, attempt: attempt("m1", .succeeded)),
                                    Settlement(id: "m2", owner: "w", disposition: .deadLetter, attempt: attempt("m2", .dead))])
        _ = try await store.replay(ids: ["m2"], now: t0)
        try await store.audit([AuditEntry(actor: "admin-api", action: "admin.request", subject: "GET /api/dlq")], at: t0)
        return (store, path)
    }

    @Test func recordsTheLifecycleAndVerifies() async throws {
        let (store, _) = try await Self.populated()
        let records = try await store.auditRecords(since: nil, limit: 100)
        #expect(records.map(\.entry.action) == ["messages.received", "messages.received", "messages.delivered",
                                                 "messages.dead_lettered", "messages.replayed", "admin.request"])
        #expect(records[0].entry.detail == #"{"count":2,"messages":["m1 c1","m2 c2"]}"#)
        #expect(records[2].entry.correlationId == "c1")
        #expect(records[1].previousHash == records[0].hash)
        guard case .intact(let count, let head) = try await store.verifyAudit() else { Issue.record("not intact"); return }
        #expect(count == 6 && head == records.last?.hash)
    }

    @Test(arguments: [
        ("UPDATE audit SET detail = '{\"count\":1}' WHERE seq = 3", 3, "altered"),
        ("UPDATE audit SET actor = 'nobody' WHERE seq = 1", 1, "altered"),
        ("DELETE FROM audit WHERE seq = 2", 3, "removed or moved"),
        ("UPDATE audit SET seq = 99 WHERE seq = 4", 5, "removed or moved"),
        ("DELETE FROM audit WHERE seq = 1", 2, "records before 2 were removed"),
        ("DELETE FROM audit WHERE seq >= 5", 5, "removed from the end"),
    ])
    func tamperingIsNamed(sql: String, sequence: Int64, reason: String) async throws {
        let (store, path) = try await Self.populated()
        let pool = try DatabasePool(path: path)
        try await pool.write { db in try db.execute(sql: sql) }
        guard case .broken(let at, let why) = try await store.verifyAudit() else { Issue.record("tampering not detected: \(sql)"); return }
        #expect(at == sequence, "\(why)")
        #expect(why.contains(reason), "\(why)")
    }

    @Test func swappingTwoRecordsIsNamed() async throws {
        let (store, path) = try await Self.populated()
        let pool = try DatabasePool(path: path)
        try await pool.write { db in
            try db.execute(sql: "UPDATE audit SET seq = -1 WHERE seq = 3")
            try db.execute(sql: "UPDATE audit SET seq = 3 WHERE seq = 4")
            try db.execute(sql: "UPDATE audit SET seq = 4 WHERE seq = -1")
        }
        guard case .broken(let at, _) = try await store.verifyAudit() else { Issue.record("reordering not detected"); return }
        #expect(at == 3)
    }
}
