import Foundation
import GRDB

/// Plugins' ledgers in the queue's database (the host's `PluginLedger`): one row per plugin and key, written durably
/// (a reconciliation must not find a delivery missing from the ledger because a crash lost the write).
extension SQLiteMessageStore {
    public func ledgerPut(plugin: String, key: String, value: [UInt8]) async throws {
        let now = Self.milliseconds(Date())
        try await write { db in
            try db.execute(sql: """
                INSERT INTO plugin_ledger (plugin, key, value, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, arguments: [plugin, key, Data(value), now])
        }
    }

    public func ledgerGet(plugin: String, key: String) async throws -> [UInt8]? {
        try await read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM plugin_ledger WHERE plugin = ? AND key = ?", arguments: [plugin, key]).map { Array($0) }
        }
    }

    public func ledgerScan(plugin: String, prefix: String, after: String?, limit: Int) async throws -> [(key: String, value: [UInt8])] {
        // A range on the primary key rather than LIKE (whose wildcards a key may contain), stopped at the first key
        // without the prefix.
        let start = max(prefix, after ?? "")
        let rows: [LedgerRow] = try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT key, value FROM plugin_ledger WHERE plugin = ? AND key >= ? AND key > ? ORDER BY key LIMIT ?
                """, arguments: [plugin, start, after ?? "", limit]).map { LedgerRow(key: $0["key"], value: $0["value"]) }
        }
        return rows.prefix { $0.key.hasPrefix(prefix) }.map { ($0.key, Array($0.value)) }
    }
}

struct LedgerRow: Sendable {
    let key: String
    let value: Data
}
