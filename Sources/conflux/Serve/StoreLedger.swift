import LuaRuntime
import StoreSQLite

/// The plugins' ledger (`ledger.*` in Lua) kept in the server's SQLite store.
struct StoreLedger: PluginLedger {
    let store: SQLiteMessageStore

    func put(plugin: String, key: String, value: [UInt8]) async throws { try await store.ledgerPut(plugin: plugin, key: key, value: value) }
    func get(plugin: String, key: String) async throws -> [UInt8]? { try await store.ledgerGet(plugin: plugin, key: key) }
    func scan(plugin: String, prefix: String, after: String?, limit: Int) async throws -> [(key: String, value: [UInt8])] {
        try await store.ledgerScan(plugin: plugin, prefix: prefix, after: after, limit: limit)
    }
}
