import Foundation
import Testing

/// `conflux catalog validate` and `diff` through the binary, on a catalog of their own.
@Suite struct CatalogCLITests {
    func project() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-catalog-cli-\(UUID().uuidString)")
        func write(_ path: String, _ text: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        for (version, body) in [("1.0.0", "return { kind = \"mapping\", map = function(e) return e end }\n"),
                                ("1.1.0", "return { kind = \"mapping\", map = function(e)\n  e.checked = true\n  return e\nend }\n")] {
            try write("plugins/invoice-\(version)/plugin.lua", body)
            try write("plugins/invoice-\(version)/spec/plugin_spec.lua", "describe('x', function() it('ok', function() end) end)\n")
            try write("catalog/invoice-\(version).yaml", """
                name: invoice
                kind: mapping
                version: \(version)
                owner: Dana Ortiz <dana@clinic.example>
                team: revenue
                description: invoices
                entry: plugins/invoice-\(version)
                sla: { latency_p95_ms: \(version == "1.0.0" ? 100 : 80) }
                status: draft

                """)
        }
        return root
    }

    @Test func diffShowsManifestAndSourceChanges() throws {
        let root = try project()
        defer { try? FileManager.default.removeItem(at: root) }
        let diff = try ConfluxBinary.run(["catalog", "diff", "invoice", "1.0.0", "1.1.0", "--catalog", root.appendingPathComponent("catalog").path])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stdout.contains("--- catalog/invoice-1.0.0.yaml\n+++ catalog/invoice-1.1.0.yaml"), "\(diff.stdout)")
        #expect(diff.stdout.contains("-version: 1.0.0\n+version: 1.1.0"), "\(diff.stdout)")
        #expect(diff.stdout.contains("\n-sla: { latency_p95_ms: 100 }\n") && diff.stdout.contains("\n+sla: { latency_p95_ms: 80 }\n"), "\(diff.stdout)")
        #expect(diff.stdout.contains("--- plugins/invoice-1.0.0/plugin.lua\n+++ plugins/invoice-1.1.0/plugin.lua"), "\(diff.stdout)")
        #expect(diff.stdout.contains("+  e.checked = true"), "\(diff.stdout)")
        #expect(!diff.stdout.contains("spec/plugin_spec.lua"), "unchanged files are not shown")
        let missing = try ConfluxBinary.run(["catalog", "diff", "invoice", "1.0.0", "9.0.0", "--catalog", root.appendingPathComponent("catalog").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no invoice@9.0.0 in the catalog (versions: 1.0.0, 1.1.0)"), "\(missing.stderr)")
    }

    @Test func validateExitsOneOnAnErrorAndPrintsWhere() throws {
        let root = try project()
        defer { try? FileManager.default.removeItem(at: root) }
        let catalog = root.appendingPathComponent("catalog").path
        let clean = try ConfluxBinary.run(["catalog", "validate", "--catalog", catalog])
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        #expect(clean.stdout.contains("2 entries, 0 errors, 0 warnings"))
        try Data("name: invoice\nkind: mapping\nversion: 2.0\n".utf8).write(to: root.appendingPathComponent("catalog/invoice-2.yaml"))
        let broken = try ConfluxBinary.run(["catalog", "validate", "--catalog", catalog])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("catalog/invoice-2.yaml:3: error: version: expected a semantic version MAJOR.MINOR.PATCH like 1.2.0, got '2.0'"),
                "\(broken.stdout)")
        #expect(broken.stdout.contains("catalog/invoice-2.yaml:1: error: owner: missing (required)"), "\(broken.stdout)")
    }
}
