import Foundation
import GRDB
@testable import Secrets
import Store
import StoreSQLite
import Testing

@Suite struct SecretVaultTests {
    static func folder() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("conflux-secrets-\(UUID().uuidString)") }
    static let key = MasterKey(bytes: Array(repeating: 7, count: 32))

    @Test func sealsAtRestAndReveals() async throws {
        let path = Self.folder().appendingPathComponent("conflux.sqlite").path
        let vault = SecretVault(records: try SQLiteSecretRecords(path: path), key: Self.key)
        #expect(try await vault.set("odoo/api_key", value: Array("s3cr3t-value".utf8)) == 1)
        #expect(try await vault.set("odoo/api_key", value: Array("rotated-value".utf8)) == 2)
        #expect(try await vault.reveal("odoo/api_key") == Array("rotated-value".utf8))
        let listed = try await vault.list()
        #expect(listed.map(\.name) == ["odoo/api_key"] && listed.first?.version == 2 && listed.first?.lastUsedAt != nil)
        for file in try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: (path as NSString).deletingLastPathComponent).appendingPathComponent(file))
            // The secrets' distinctive parts (the schema itself now has a column named `value`).
            #expect(bytes.range(of: Data("s3cr3t".utf8)) == nil && bytes.range(of: Data("rotated-".utf8)) == nil, "plaintext in \(file)")
        }
        #expect(!vault.description.contains("rotated-value"))
    }

    @Test func anotherKeyOrAMovedRecordDoesNotOpen() async throws {
        let path = Self.folder().appendingPathComponent("conflux.sqlite").path
        let records = try SQLiteSecretRecords(path: path)
        try await SecretVault(records: records, key: Self.key).set("a/one", value: Array("first".utf8))
        await #expect { _ = try await SecretVault(records: records, key: MasterKey(bytes: Array(repeating: 8, count: 32))).reveal("a/one") } throws: {
            "\($0)".contains("does not open with this master key")
        }
        // Copy a/one's sealed bytes under another name: bound to its name, it does not open there.
        let pool = try DatabasePool(path: path)
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO secrets (name, version, sealed, created_at) SELECT 'b/two', version, sealed, created_at FROM secrets WHERE name = 'a/one'")
        }
        await #expect { _ = try await SecretVault(records: records, key: Self.key).reveal("b/two") } throws: { "\($0)".contains("b/two") }
    }

    @Test func masterKeyFileMustBePrivate() throws {
        let folder = Self.folder()
        let file = folder.appendingPathComponent("master.key")
        try MasterKey.create(keyFile: file)
        #expect(throws: MasterKey.Problem.self) { try MasterKey.create(keyFile: file) }
        _ = try MasterKey.load(environment: [:], keyFile: file)
        chmod(file.path, 0o640)
        #expect { _ = try MasterKey.load(environment: [:], keyFile: file) } throws: { "\($0)".contains("chmod 600") }
        #expect { _ = try MasterKey.load(environment: [:], keyFile: folder.appendingPathComponent("none")) } throws: { "\($0)".contains("no master key") }
        #expect { _ = try MasterKey.load(environment: ["CONFLUX_MASTER_KEY": "short"], keyFile: file) } throws: { "\($0)".contains("32 bytes") }
        _ = try MasterKey.load(environment: ["CONFLUX_MASTER_KEY": String(repeating: "ab", count: 32)], keyFile: file)
    }

    @Test func namesAreChecked() async throws {
        let vault = SecretVault(records: try SQLiteSecretRecords(path: Self.folder().appendingPathComponent("c.sqlite").path), key: Self.key)
        for bad in ["", "Upper", "a//b", "/a", "a b"] {
            await #expect(throws: SecretVault.Problem.self) { try await vault.set(bad, value: [1]) }
        }
        await #expect(throws: SecretVault.Problem.self) { try await vault.set("ok/name", value: []) }
    }
}
