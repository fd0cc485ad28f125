import Crypto
import Foundation
import GRDB
import Store

/// Admin tokens in the queue's SQLite file. Lookups go by the token's id; the secret part is compared through its
/// sha256 in constant time, so neither the database nor timing tells a caller which part was wrong.
public final class SQLiteAdminTokens: AdminTokens {
    private let pool: DatabasePool

    public init(path: String) throws {
        pool = try SQLiteDatabase.open(path: path)
    }

    public func issue(name: String, role: AdminRole, now: Date) async throws -> (info: AdminTokenInfo, token: String) {
        let id = Self.random(bytes: 6)
        let token = "cfx_\(id)_\(Self.random(bytes: 24))"
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO admin_tokens (id, name, role, token_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, name, role.rawValue, Self.digest(token), SQLiteMessageStore.milliseconds(now)])
            try SQLiteAudit.append(db, [AuditEntry(actor: "cli", action: "admin_token.issued", subject: id,
                                                   detail: AuditDetail.object(["name": .string(name), "role": .string(role.rawValue)]))], at: now)
        }
        return (AdminTokenInfo(id: id, name: name, role: role, createdAt: now, revokedAt: nil), token)
    }

    public func authenticate(_ token: String) async throws -> AdminPrincipal? {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "cfx", parts[1].count == 12 else { return nil }
        let id = String(parts[1])
        let row = try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT name, role, token_sha256 FROM admin_tokens WHERE id = ? AND revoked_at IS NULL", arguments: [id])
        }
        guard let row, let role = AdminRole(rawValue: row["role"]) else { return nil }
        let stored: String = row["token_sha256"]
        guard Self.constantTimeEqual(Array(stored.utf8), Array(Self.digest(token).utf8)) else { return nil }
        return AdminPrincipal(tokenId: id, name: row["name"], role: role)
    }

    public func list() async throws -> [AdminTokenInfo] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, role, created_at, revoked_at FROM admin_tokens ORDER BY created_at").compactMap { row in
                guard let role = AdminRole(rawValue: row["role"]) else { return nil }
                let revoked: Int64? = row["revoked_at"]
                return AdminTokenInfo(id: row["id"], name: row["name"], role: role, createdAt: SQLiteMessageStore.date(row["created_at"]),
                                      revokedAt: revoked.map(SQLiteMessageStore.date))
            }
        }
    }

    public func revoke(id: String, now: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           arguments: [SQLiteMessageStore.milliseconds(now), id])
            guard db.changesCount > 0 else { return false }
            try SQLiteAudit.append(db, [AuditEntry(actor: "cli", action: "admin_token.revoked", subject: id)], at: now)
            return true
        }
    }

    public func anyActive() async throws -> Bool {
        try await pool.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM admin_tokens WHERE revoked_at IS NULL)") ?? false }
    }

    private static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private static func random(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
