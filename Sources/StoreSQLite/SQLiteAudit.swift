import Crypto
import Foundation
import GRDB
import Store

/// The hash chain in SQL: appended inside the caller's write transaction (SQLite's single writer serialises the
/// chain, across connections too), verified by walking it in order.
enum SQLiteAudit {
    static let genesis = String(repeating: "0", count: 64)

    /// Length-prefixed fields (`<bytes>:<text>,`), so no two different records encode alike.
    static func canonical(sequence: Int64, at: Int64, entry: AuditEntry, previousHash: String) -> [UInt8] {
        var out: [UInt8] = []
        for field in [String(sequence), String(at), entry.actor, entry.action, entry.subject, entry.correlationId ?? "",
                      entry.detail, previousHash] {
            let bytes = Array(field.utf8)
            out += Array("\(bytes.count):".utf8) + bytes + [UInt8(ascii: ",")]
        }
        return out
    }

    static func hash(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func append(_ db: Database, _ entries: [AuditEntry], at date: Date) throws {
        guard !entries.isEmpty else { return }
        var previous = try String.fetchOne(db, sql: "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1") ?? genesis
        // The next sequence, as AUTOINCREMENT will assign it (sqlite_sequence remembers deleted tail rows too).
        var sequence = (try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'audit'") ?? 0) + 1
        let at = SQLiteMessageStore.milliseconds(date)
        let insert = try db.cachedStatement(sql: """
            INSERT INTO audit (seq, at, actor, action, subject, correlation_id, detail, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for entry in entries {
            let hash = hash(canonical(sequence: sequence, at: at, entry: entry, previousHash: previous))
            try insert.execute(arguments: [sequence, at, entry.actor, entry.action, entry.subject, entry.correlationId,
                                           entry.detail, previous, hash])
            previous = hash
            sequence += 1
        }
    }

    static func record(_ row: Row) -> AuditRecord {
        AuditRecord(sequence: row["seq"], at: SQLiteMessageStore.date(row["at"]),
                    entry: AuditEntry(actor: row["actor"], action: row["action"], subject: row["subject"],
                                      correlationId: row["correlation_id"], detail: row["detail"]),
                    previousHash: row["prev_hash"], hash: row["hash"])
    }

    /// Walks the chain; names the first record that was altered, or that follows a removed or moved one.
    static func verify(_ db: Database) throws -> AuditVerification {
        var previous = genesis
        var previousSequence: Int64 = 0
        var count = 0
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM audit ORDER BY seq")
        while let row = try rows.next() {
            let record = record(row)
            let at = SQLiteMessageStore.milliseconds(record.at)
            if record.previousHash != previous || record.sequence != previousSequence + 1 {
                return .broken(sequence: record.sequence, reason: previousSequence == 0 && record.sequence != 1
                    ? "the chain does not start at record 1: records before \(record.sequence) were removed"
                    : "record \(record.sequence) does not follow record \(previousSequence): a record between them was removed or moved")
            }
            if hash(canonical(sequence: record.sequence, at: at, entry: record.entry, previousHash: record.previousHash)) != record.hash {
                return .broken(sequence: record.sequence, reason: "record \(record.sequence) was altered: its content does not match its hash")
            }
            previous = record.hash
            previousSequence = record.sequence
            count += 1
        }
        let last = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'audit'") ?? 0
        if last > previousSequence {
            return .broken(sequence: previousSequence + 1, reason: "records \(previousSequence + 1) to \(last) were removed from the end")
        }
        return .intact(records: count, head: previous)
    }
}
