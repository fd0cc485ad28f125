import Foundation
import Store
@testable import Catalog

/// A throwaway project: `catalog/`, `plugins/`, `catalog/flows/`, written file by file.
struct TestProject {
    let root: URL
    var catalog: URL { root.appendingPathComponent("catalog") }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("catalog"), withIntermediateDirectories: true)
    }

    func write(_ path: String, _ text: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func read(_ path: String) throws -> String { try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) }

    /// A plugin folder with one passing test.
    func plugin(_ name: String, kind: String = "mapping", body: String = "map = function(e) return e end") throws {
        try write("plugins/\(name)/plugin.lua", "return { kind = \"\(kind)\", \(body) }\n")
        try write("plugins/\(name)/spec/plugin_spec.lua", """
            local plugin = require("plugin")
            describe("\(name)", function() it("loads", function() assert.are.equal("\(kind)", plugin.kind) end) end)
            """)
    }

    /// A manifest; `extra` is appended as top-level YAML.
    func manifest(_ name: String, kind: String = "mapping", version: String = "1.0.0", owner: String = "Dana Ortiz <dana@clinic.example>",
                  entry: String? = nil, status: String = "draft", extra: String = "") throws {
        try write("catalog/\(name)-\(version).yaml", """
            name: \(name)
            kind: \(kind)
            version: \(version)
            owner: \(owner)
            team: revenue
            description: \(name) does its job
            entry: \(entry ?? "plugins/\(name)")
            sla: { latency_p95_ms: 100 }
            status: \(status)
            """ + (extra.isEmpty ? "" : "\n" + extra) + "\n")
    }

    func load() -> Catalog { Catalog.load(projectRoot: root) }
}

/// Audit records kept in memory, in order.
actor MemoryAudit: AuditLog {
    var entries: [AuditEntry] = []
    var failNext = false

    func audit(_ entries: [AuditEntry], at: Date) async throws {
        if failNext { failNext = false; throw CocoaError(.fileWriteUnknown) }
        self.entries += entries
    }

    func setFailNext() { failNext = true }
    func verifyAudit() async throws -> AuditVerification { .intact(records: entries.count, head: "") }
    func auditRecords(since: Date?, limit: Int) async throws -> [AuditRecord] { [] }
}
