import Foundation
import GRDB
import Store
import Synchronization

/// The embedded default: one SQLite file in WAL mode with `synchronous = FULL`, so a commit that returned survives
/// a crash or power loss. Every method is one write transaction (SQLite has one writer; group commit is the caller
/// batching several messages into one `enqueue`).
public final class SQLiteMessageStore: MessageStore, AuditLog {
    private let pool: DatabasePool
    public let path: String
    /// The writer connection's `synchronous` setting as last set (one writer connection: transactions run one at a time).
    private let writerSynchronous = Mutex("")

    /// Opens (creating if needed) the store at `path` and applies pending migrations.
    public init(path: String) throws {
        self.path = path
        pool = try SQLiteDatabase.open(path: path)
    }

    public func enqueue(_ messages: [NewMessage]) async throws -> [EnqueueOutcome] {
        try await write { db in
            let claimKey = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO idempotency_keys (source, key, message_id, created_at) VALUES (?, ?, ?, ?)")
            let insert = try db.cachedStatement(sql: """
                INSERT INTO messages (id, source, idempotency_key, ordering_key, correlation_id, content_type, body,
                                      headers, status, attempts, available_at, accepted_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ready', 0, ?, ?, ?)
                """)
            var outcomes: [EnqueueOutcome] = []
            outcomes.reserveCapacity(messages.count)
            for message in messages {
                let at = Self.milliseconds(message.acceptedAt)
                if let key = message.idempotencyKey {
                    try claimKey.execute(arguments: [message.source, key, message.id, at])
                    if db.changesCount == 0 {
                        let first = try String.fetchOne(db, sql: "SELECT message_id FROM idempotency_keys WHERE source = ? AND key = ?",
                                                        arguments: [message.source, key]) ?? message.id
                        outcomes.append(.duplicate(firstId: first))
                        continue
                    }
                }
                try insert.execute(arguments: [message.id, message.source, message.idempotencyKey, message.orderingKey,
                                               message.correlationId, message.contentType, Data(message.body),
                                               Self.encodeHeaders(message.headers), at, at, at])
                outcomes.append(.accepted(id: message.id))
            }
            let accepted = zip(messages, outcomes).compactMap { message, outcome -> NewMessage? in
                if case .accepted = outcome { return message } else { return nil }
            }
            if let first = accepted.first {
                try SQLiteAudit.append(db, [AuditEntry(
                    actor: "ingress", action: "messages.received", subject: first.id, correlationId: first.correlationId,
                    detail: AuditDetail.object(["count": .int(accepted.count),
                                                "messages": .strings(accepted.map { "\($0.id) \($0.correlationId)" })]))],
                    at: first.acceptedAt)
            }
            return outcomes
        }
    }

    public func lease(owner: String, limit: Int, duration: TimeInterval, now: Date, source: String?) async throws -> [StoredMessage] {
        let nowMs = Self.milliseconds(now)
        let expires = Self.milliseconds(now.addingTimeInterval(duration))
        return try await writeUndurable { db in
            try db.cachedStatement(sql: """
                UPDATE messages SET status = 'ready', lease_owner = NULL, lease_expires_at = NULL
                WHERE status = 'leased' AND lease_expires_at <= ?
                """).execute(arguments: [nowMs])
            // A keyed message goes only when it is its key's oldest unfinished message and none of its key is leased.
            // One cached statement picks and leases (UPDATE … RETURNING): preparing a SELECT, an UPDATE over a list of
            // ids and a SELECT of those rows on every lease showed as SQLite's parser in the pipeline's profile.
            var arguments: StatementArguments = [owner, expires, nowMs, nowMs]
            if let source { arguments += [source] }
            arguments += [limit]
            // The source condition is written only when given: `(? IS NULL OR source = ?)` keeps SQLite from using the
            // per-source index.
            // INDEXED BY: walk the ready messages in acceptance order and stop at the limit. Left to itself the planner
            // picked (status, available_at) and sorted every ready message on each lease — the whole backlog per lease.
            let statement = try db.cachedStatement(sql: """
                UPDATE messages SET status = 'leased', lease_owner = ?, lease_expires_at = ?, updated_at = ?
                WHERE seq IN (
                  SELECT m.seq FROM messages m INDEXED BY \(source == nil ? "messages_ready" : "messages_ready_by_source")
                  WHERE m.status = 'ready' AND m.available_at <= ? \(source == nil ? "" : "AND m.source = ?")
                    AND (m.ordering_key IS NULL OR (
                          NOT EXISTS (SELECT 1 FROM messages o WHERE o.ordering_key = m.ordering_key AND o.seq < m.seq
                                      AND o.status IN ('ready', 'leased'))
                      AND NOT EXISTS (SELECT 1 FROM messages l WHERE l.ordering_key = m.ordering_key AND l.status = 'leased')))
                  ORDER BY m.seq
                  LIMIT ?)
                RETURNING *
                """)
            // RETURNING gives no order: the caller gets them in acceptance order.
            return try Self.messages(Row.fetchAll(statement, arguments: arguments)).sorted { $0.sequence < $1.sequence }
        }
    }

    public func heartbeat(ids: [String], owner: String, until: Date) async throws {
        try await writeUndurable { db in
            for id in ids {
                try db.execute(sql: "UPDATE messages SET lease_expires_at = ? WHERE id = ? AND status = 'leased' AND lease_owner = ?",
                               arguments: [Self.milliseconds(until), id, owner])
                if db.changesCount == 0 { throw try Self.leaseError(db, id: id, owner: owner) }
            }
        }
    }

    public func settle(_ settlements: [Settlement]) async throws -> [StoreError?] {
        try await write { db in
            let update = try db.cachedStatement(sql: """
                UPDATE messages SET status = ?, attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
                                    updated_at = ?, last_error = ?, available_at = COALESCE(?, available_at)
                WHERE id = ? AND status = 'leased' AND lease_owner = ?
                """)
            // A deferral (the host never tried) returns the message without counting or recording an attempt.
            let deferral = try db.cachedStatement(sql: """
                UPDATE messages SET status = ?, lease_owner = NULL, lease_expires_at = NULL,
                                    updated_at = ?, last_error = ?, available_at = COALESCE(?, available_at)
                WHERE id = ? AND status = 'leased' AND lease_owner = ?
                """)
            let record = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO attempts (message_id, number, started_at, finished_at, outcome, error_kind, error_message)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            func apply(_ settlement: Settlement) throws -> StoreError? {
                let attempt = settlement.attempt
                let availableAt = settlement.disposition.availableAt.map(Self.milliseconds)
                let finished = Self.milliseconds(attempt.finishedAt)
                let counts = settlement.disposition.countsAsAttempt
                try (counts ? update : deferral).execute(arguments: [settlement.disposition.status.rawValue, finished, attempt.errorMessage,
                                                                    availableAt, settlement.id, settlement.owner])
                if db.changesCount == 0 { return try Self.leaseError(db, id: settlement.id, owner: settlement.owner) }
                guard counts else { return nil }
                try record.execute(arguments: [settlement.id, attempt.number, Self.milliseconds(attempt.startedAt), finished,
                                               attempt.outcome.rawValue, attempt.errorKind, attempt.errorMessage])
                return nil
            }
            var results: [StoreError?] = []
            for settlement in settlements { results.append(try apply(settlement)) }
            // One audit record per outcome per batch: which messages were delivered or dead-lettered, with their
            // correlation ids (retries are in each message's attempt history).
            for (action, disposition) in [("messages.delivered", Settlement.Disposition.complete), ("messages.dead_lettered", .deadLetter)] {
                let applied = zip(settlements, results).filter { $0.1 == nil && $0.0.disposition == disposition }.map(\.0)
                guard let first = applied.first else { continue }
                var correlations: [String: String] = [:]
                for settlement in applied { correlations[settlement.id] = settlement.correlationId }
                let unknown = applied.filter { $0.correlationId == nil }.map(\.id)
                if !unknown.isEmpty {
                    for row in try Row.fetchAll(db, sql: "SELECT id, correlation_id FROM messages WHERE id IN (\(unknown.map { _ in "?" }.joined(separator: ",")))",
                                                arguments: StatementArguments(unknown)) {
                        correlations[row["id"]] = row["correlation_id"]
                    }
                }
                try SQLiteAudit.append(db, [AuditEntry(
                    actor: "worker", action: action, subject: first.id, correlationId: correlations[first.id],
                    detail: AuditDetail.object(["count": .int(applied.count),
                                                "messages": .strings(applied.map { "\($0.id) \(correlations[$0.id] ?? "")" })]))],
                    at: first.attempt.finishedAt)
            }
            return results
        }
    }

    public func message(id: String) async throws -> StoredMessage? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM messages WHERE id = ?", arguments: [id]).map(Self.message) }
    }

    public func attempts(id: String) async throws -> [AttemptRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM attempts WHERE message_id = ? ORDER BY number", arguments: [id]).map { row in
                AttemptRecord(messageId: row["message_id"], number: row["number"],
                              startedAt: Self.date(row["started_at"]), finishedAt: Self.date(row["finished_at"]),
                              outcome: AttemptRecord.Outcome(rawValue: row["outcome"]) ?? .retry,
                              errorKind: row["error_kind"], errorMessage: row["error_message"])
            }
        }
    }

    public func list(_ filter: MessageFilter) async throws -> [StoredMessage] {
        try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let status = filter.status { conditions.append("status = ?"); arguments += [status.rawValue] }
            if let source = filter.source { conditions.append("source = ?"); arguments += [source] }
            if let after = filter.afterSequence { conditions.append("seq > ?"); arguments += [after] }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [filter.limit]
            return try Self.messages(Row.fetchAll(db, sql: "SELECT * FROM messages \(whereClause) ORDER BY seq LIMIT ?",
                                                  arguments: arguments))
        }
    }

    public func openCounts() async throws -> [MessageStatus: Int] {
        try await read { db in
            // Each count walks its own (partial) index: the done messages, the bulk of the table, are never visited.
            var counts: [MessageStatus: Int] = [:]
            counts[.ready] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages INDEXED BY messages_ready WHERE status = 'ready'")
            counts[.leased] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages INDEXED BY messages_leased WHERE status = 'leased'")
            counts[.dead] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE status = 'dead'")
            return counts.filter { $0.value > 0 }
        }
    }

    public func counts() async throws -> [MessageStatus: Int] {
        try await read { db in
            var counts: [MessageStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM messages GROUP BY status") {
                if let status = MessageStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    public func replay(ids: [String], now: Date) async throws -> [String] {
        try await write { db in
            var replayed: [String] = []
            for id in ids {
                try db.execute(sql: """
                    UPDATE messages SET status = 'ready', available_at = ?, updated_at = ?, retry_base = attempts, retry_since = ?
                    WHERE id = ? AND status = 'dead'
                    """, arguments: [Self.milliseconds(now), Self.milliseconds(now), Self.milliseconds(now), id])
                if db.changesCount > 0 { replayed.append(id) }
            }
            if let first = replayed.first {
                try SQLiteAudit.append(db, [AuditEntry(actor: "operator", action: "messages.replayed", subject: first,
                                                       detail: AuditDetail.object(["count": .int(replayed.count), "messages": .strings(replayed)]))],
                                       at: now)
            }
            return replayed
        }
    }

    public func purge(ids: [String]) async throws -> [String] {
        try await write { db in
            var purged: [String] = []
            for id in ids {
                try db.execute(sql: "DELETE FROM messages WHERE id = ? AND status = 'dead'", arguments: [id])
                if db.changesCount > 0 {
                    try db.execute(sql: "DELETE FROM attempts WHERE message_id = ?", arguments: [id])
                    purged.append(id)
                }
            }
            if let first = purged.first {
                try SQLiteAudit.append(db, [AuditEntry(actor: "operator", action: "messages.purged", subject: first,
                                                       detail: AuditDetail.object(["count": .int(purged.count), "messages": .strings(purged)]))],
                                       at: Date())
            }
            return purged
        }
    }

    // MARK: - Audit

    public func audit(_ entries: [AuditEntry], at date: Date) async throws {
        try await write { db in try SQLiteAudit.append(db, entries, at: date) }
    }

    public func verifyAudit() async throws -> AuditVerification {
        try await read { db in try SQLiteAudit.verify(db) }
    }

    public func auditRecords(since: Date?, limit: Int) async throws -> [AuditRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE at >= ? ORDER BY seq LIMIT ?",
                             arguments: [since.map(Self.milliseconds) ?? Int64.min, limit]).map(SQLiteAudit.record)
        }
    }

    // MARK: - Internals

    private static func leaseError(_ db: Database, id: String, owner: String) throws -> StoreError {
        try String.fetchOne(db, sql: "SELECT id FROM messages WHERE id = ?", arguments: [id]) == nil
            ? .notFound(id: id) : .leaseLost(id: id, owner: owner)
    }

    /// A durable write transaction: `synchronous = FULL` is set on the writer connection before each one, so no
    /// earlier undurable write can leave it off.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await transaction(synchronous: "FULL", body)
    }

    /// A write transaction that need not survive a crash: leases and heartbeats. Losing one only returns messages to
    /// ready (at-least-once delivery already allows that), so it commits without an fsync (`synchronous = NORMAL`,
    /// still atomic and consistent in WAL mode); the next durable commit's fsync of the WAL persists it anyway.
    /// Measured: with an fsync per lease, leases — not messages — set the pace of a busy pipeline.
    private func writeUndurable<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await transaction(synchronous: "NORMAL", body)
    }

    private func transaction<T: Sendable>(synchronous: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                // Set only when it changes: one statement less to prepare for most transactions.
                if self.writerSynchronous.withLock({ $0 != synchronous }) {
                    try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                    self.writerSynchronous.withLock { $0 = synchronous }
                }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError.unavailable("\(error.resultCode): \(error.message ?? "")")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw StoreError.unavailable("\(error.resultCode): \(error.message ?? "")")
        }
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    static func encodeHeaders(_ headers: [String: String]) -> String {
        // A flat object of strings, keys sorted, written by hand: this runs for every accepted message.
        guard !headers.isEmpty else { return "{}" }
        return "{" + headers.sorted { $0.key < $1.key }.map { AuditDetail.quote($0.key) + ":" + AuditDetail.quote($0.value) }.joined(separator: ",") + "}"
    }

    static func decodeHeaders(_ text: String) -> [String: String] {
        flatStringObject(text) ?? (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String] ?? [:]
    }

    /// The flat object `encodeHeaders` writes, read without Foundation when no value needs an escape (the usual
    /// case: this runs for every leased message); nil for anything else, which the caller hands to JSONSerialization.
    static func flatStringObject(_ text: String) -> [String: String]? {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}"), !bytes.contains(where: { $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else { return nil }
        var result: [String: String] = [:]
        var index = 1
        func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            index = end + 1
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        if bytes.count == 2 { return result }
        while true {
            guard let key = string(), index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let value = string(), index < bytes.count else { return nil }
            result[key] = value
            if bytes[index] == UInt8(ascii: "}") { return index == bytes.count - 1 ? result : nil }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
    }

    /// Rows of `messages` (every column, in any order) as messages; column positions are found once for all of them.
    static func messages(_ rows: [Row]) -> [StoredMessage] {
        guard let first = rows.first else { return [] }
        let columns = MessageColumns(first)
        return rows.map { message($0, columns) }
    }

    static func message(_ row: Row) -> StoredMessage { message(row, MessageColumns(row)) }

    static func message(_ row: Row, _ c: MessageColumns) -> StoredMessage {
        let body: Data = row[c.body]
        let leaseExpires: Int64? = row[c.leaseExpiresAt]
        let retrySince: Int64? = row[c.retrySince]
        var message = StoredMessage(
            sequence: row[c.seq], id: row[c.id], source: row[c.source], idempotencyKey: row[c.idempotencyKey],
            orderingKey: row[c.orderingKey], correlationId: row[c.correlationId], contentType: row[c.contentType],
            body: Array(body), headers: decodeHeaders(row[c.headers]),
            status: MessageStatus(rawValue: row[c.status]) ?? .ready, attempts: row[c.attempts],
            availableAt: date(row[c.availableAt]), leaseOwner: row[c.leaseOwner], leaseExpiresAt: leaseExpires.map(date),
            acceptedAt: date(row[c.acceptedAt]), updatedAt: date(row[c.updatedAt]), lastError: row[c.lastError])
        message.retryBase = row[c.retryBase] ?? 0
        message.retrySince = retrySince.map(date)
        return message
    }
}
