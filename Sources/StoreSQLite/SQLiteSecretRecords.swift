import Foundation
import GRDB
import Store

/// Secret records in the queue's SQLite file (its own connection pool; writes are rare — the CLI — and reads are
/// cached by the vault).
public final class SQLiteSecretRecords: SecretRecords {
    private let pool: DatabasePool

    public init(path: String) throws {
        pool = try SQLiteDatabase.open(path: path)
    }

    public func put(name: String, sealed: [UInt8], now: Date) async throws -> Int {
        try await pool.write { db in
            let version = (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM secrets WHERE name = ?", arguments: [name]) ?? 0) + 1
            try db.execute(sql: "INSERT INTO secrets (name, version, sealed, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, version, Data(sealed), SQLiteMessageStore.milliseconds(now)])
            try SQLiteAudit.append(db, [AuditEntry(actor: "cli", action: "secret.written", subject: name,
                                                   detail: AuditDetail.object(["version": .int(version)]))], at: now)
            return version
        }
    }

    public func current(name: String) async throws -> (version: Int, sealed: [UInt8])? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT version, sealed FROM secrets WHERE name = ? ORDER BY version DESC LIMIT 1",
                             arguments: [name]).map { row in
                let sealed: Data = row["sealed"]
                return (row["version"], Array(sealed))
            }
        }
    }

    public func list() async throws -> [SecretInfo] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.name, s.version, s.created_at, u.last_used_at FROM secrets s
                LEFT JOIN secret_usage u ON u.name = s.name
                WHERE s.version = (SELECT MAX(version) FROM secrets t WHERE t.name = s.name)
                ORDER BY s.name
                """).map { row in
                let used: Int64? = row["last_used_at"]
                return SecretInfo(name: row["name"], version: row["version"], createdAt: SQLiteMessageStore.date(row["created_at"]),
                                  lastUsedAt: used.map(SQLiteMessageStore.date))
            }
        }
    }

    public func delete(name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM secrets WHERE name = ?", arguments: [name])
            let deleted = db.changesCount > 0
            try db.execute(sql: "DELETE FROM secret_usage WHERE name = ?", arguments: [name])
            if deleted { try SQLiteAudit.append(db, [AuditEntry(actor: "cli", action: "secret.deleted", subject: name)], at: Date()) }
            return deleted
        }
    }

    public func markUsed(name: String, now: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO secret_usage (name, last_used_at) VALUES (?, ?)
                ON CONFLICT (name) DO UPDATE SET last_used_at = excluded.last_used_at
                """, arguments: [name, SQLiteMessageStore.milliseconds(now)])
            try SQLiteAudit.append(db, [AuditEntry(actor: "host", action: "secret.read", subject: name)], at: now)
        }
    }
}
