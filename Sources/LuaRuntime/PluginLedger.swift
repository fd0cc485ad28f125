/// What a plugin records about what it delivered, kept by the host across invocations, restarts and versions: the
/// reconciliation compares it with what the partner holds. Keys are the plugin's own (external ids, say); values are
/// JSON objects. One ledger per plugin name, so a new version reads what the old one wrote.
public protocol PluginLedger: Sendable {
    func put(plugin: String, key: String, value: [UInt8]) async throws
    func get(plugin: String, key: String) async throws -> [UInt8]?
    /// Entries whose key starts with `prefix`, in key order, after `after` (exclusive), at most `limit`.
    func scan(plugin: String, prefix: String, after: String?, limit: Int) async throws -> [(key: String, value: [UInt8])]
}

/// `ledger.put(key, value)`, `ledger.get(key)`, `ledger.scan(prefix [, after [, limit]])` as the host sees them (the
/// prelude encodes and decodes the JSON). Each waits on the store: the calling coroutine yields.
extension HostModules {
    static let maxLedgerKeyBytes = 512
    static let maxLedgerValueBytes = 64 * 1024
    static let maxLedgerScan = 1000

    /// The key argument, or the message saying what is wrong with it.
    private static func ledgerKey(_ call: borrowing HostCall, _ index: Int32, _ function: String) -> (key: String?, problem: String) {
        guard case .success(let bytes) = call.string(index), !bytes.isEmpty, bytes.count <= maxLedgerKeyBytes else {
            return (nil, "ledger.\(function): the key must be a non-empty string of at most \(maxLedgerKeyBytes) bytes")
        }
        return (String(decoding: bytes, as: UTF8.self), "")
    }

    static func ledgerPut(_ call: borrowing HostCall) -> HostOutcome {
        guard let ledger = call.context.ledger else { return .error("ledger.put: this host keeps no ledger here (plugin tests, sandbox check)") }
        let checked = ledgerKey(call, 1, "put")
        guard let key = checked.key else { return .error(checked.problem) }
        guard case .success(let value) = call.string(2), value.count <= maxLedgerValueBytes else {
            return .error("ledger.put: the value must encode to at most \(maxLedgerValueBytes) bytes of JSON")
        }
        let plugin = call.context.ledgerName
        return .wait(HostOperation(name: "ledger.put") {
            do { try await ledger.put(plugin: plugin, key: key, value: value); return .values([.bool(true)]) }
            catch { return .error("ledger.put: the store refused the write (\(error))") }
        })
    }

    static func ledgerGet(_ call: borrowing HostCall) -> HostOutcome {
        guard let ledger = call.context.ledger else { return .error("ledger.get: this host keeps no ledger here (plugin tests, sandbox check)") }
        let checked = ledgerKey(call, 1, "get")
        guard let key = checked.key else { return .error(checked.problem) }
        let plugin = call.context.ledgerName
        return .wait(HostOperation(name: "ledger.get") {
            do { return .values([try await ledger.get(plugin: plugin, key: key).map { .json($0) } ?? .nil]) }
            catch { return .error("ledger.get: the store cannot be read (\(error))") }
        })
    }

    static func ledgerScan(_ call: borrowing HostCall) -> HostOutcome {
        guard let ledger = call.context.ledger else { return .error("ledger.scan: this host keeps no ledger here (plugin tests, sandbox check)") }
        guard case .success(let prefixBytes) = call.string(1) else { return .error("ledger.scan: expected a key prefix (a string)") }
        var after: String?
        if !call.isNil(2) {
            guard case .success(let bytes) = call.string(2) else { return .error("ledger.scan: 'after' must be a key (a string)") }
            after = String(decoding: bytes, as: UTF8.self)
        }
        var limit = 100
        if !call.isNil(3) {
            guard case .success(let value) = call.integer(3), (1...Int64(maxLedgerScan)).contains(value) else {
                return .error("ledger.scan: limit must be an integer between 1 and \(maxLedgerScan)")
            }
            limit = Int(value)
        }
        let prefix = String(decoding: prefixBytes, as: UTF8.self), plugin = call.context.ledgerName
        let (startAfter, count) = (after, limit)
        return .wait(HostOperation(name: "ledger.scan") {
            do {
                let entries = try await ledger.scan(plugin: plugin, prefix: prefix, after: startAfter, limit: count)
                var json: [UInt8] = Array("[".utf8)
                for (index, entry) in entries.enumerated() {
                    if index > 0 { json.append(UInt8(ascii: ",")) }
                    json += Array("{\"key\":\(JSONText.string(entry.key)),\"value\":".utf8) + entry.value + [UInt8(ascii: "}")]
                }
                json.append(UInt8(ascii: "]"))
                return .values([.json(json)])
            } catch { return .error("ledger.scan: the store cannot be read (\(error))") }
        })
    }
}
