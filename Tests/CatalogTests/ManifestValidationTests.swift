import Foundation
import Pipeline
import Testing
@testable import Catalog

@Suite struct SemanticVersionTests {
    @Test func parsesAndOrdersByPrecedence() throws {
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "2.0.0"]
        let versions = try ordered.map { try #require(SemanticVersion($0), "\($0)") }
        #expect(versions == versions.sorted())
        #expect(versions.shuffled().sorted() == versions)
        for bad in ["1.0", "01.0.0", "1.0.0-", "1.0.0-01", "a.b.c", "1.0.0+", ""] { #expect(SemanticVersion(bad) == nil, "\(bad)") }
        #expect(SemanticVersion("1.0.0+build.5") == SemanticVersion("1.0.0"))
    }

    @Test func requirementsMatchAsNpmAndCargoDo() throws {
        let cases: [(String, String, Bool)] = [
            ("^1.2", "1.2.0", true), ("^1.2", "1.9.3", true), ("^1.2", "2.0.0", false), ("^1.2", "1.1.9", false),
            ("^0.2.3", "0.2.9", true), ("^0.2.3", "0.3.0", false), ("^0.0.3", "0.0.4", false),
            ("~1.2.3", "1.2.9", true), ("~1.2.3", "1.3.0", false), ("1.2.3", "1.2.3", true), ("1.2.3", "1.2.4", false),
            (">=1.0.0 <2.0.0", "1.5.0", true), (">=1.0.0 <2.0.0", "2.0.0", false), ("*", "9.9.9", true),
            ("^1.0", "1.1.0-beta", false), ("1.1.0-beta", "1.1.0-beta", true),
        ]
        for (requirement, version, expected) in cases {
            let parsed = try #require(VersionRequirement(requirement), "\(requirement)")
            #expect(parsed.matches(try #require(SemanticVersion(version))) == expected, "\(requirement) vs \(version)")
        }
        #expect(VersionRequirement("^x") == nil)
        #expect(PluginReference("odoo@^1.2")?.name == "odoo")
        #expect(PluginReference("Odoo") == nil)
    }
}

@Suite struct ManifestValidationTests {
    func problems(_ project: TestProject) -> [String] { project.load().problems.map(\.description) }

    @Test func aGoodEntryValidatesClean() throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", extra: "data: { classes: [financial], fields: [amount] }")
        let catalog = project.load()
        #expect(catalog.problems.isEmpty, "\(catalog.problems)")
        #expect(catalog.entries.map(\.id) == ["invoice@1.0.0"])
    }

    @Test func eachMistakeNamesFileLineFieldAndWhatIsExpected() throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.write("catalog/bad.yaml", """
            name: invoice
            kind: mapper
            version: 1.2
            owner: Dana
            team: revenue
            description: x
            entry: plugins/invoice
            egress: [ftp://files.example]
            status: draft
            colour: blue
            """)
        let text = problems(project)
        #expect(text.contains("catalog/bad.yaml:2: error: kind: expected one of source, mapping, connector, flow, got 'mapper'"), "\(text)")
        #expect(text.contains("catalog/bad.yaml:3: error: version: expected a semantic version MAJOR.MINOR.PATCH like 1.2.0, got '1.2'"), "\(text)")
        #expect(text.contains { $0.hasPrefix("catalog/bad.yaml:4: error: owner: expected a contact with an e-mail address") }, "\(text)")
        #expect(text.contains { $0.hasPrefix("catalog/bad.yaml:8: error: egress[0]:") }, "\(text)")
        #expect(text.contains("catalog/bad.yaml:10: error: colour: unknown key (expected one of \(ManifestParser.fields.joined(separator: ", ")))"), "\(text)")
        #expect(text.contains("catalog/bad.yaml:1: warning: sla: no SLA: the board cannot tell what latency and availability this entry promises"), "\(text)")
    }

    @Test func missingOwnerIsAnError() throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.write("catalog/x.yaml", "name: invoice\nkind: mapping\nversion: 1.0.0\nteam: t\ndescription: d\nentry: plugins/invoice\nstatus: draft\n")
        #expect(problems(project).contains { $0.contains("error: owner: missing (required)") })
    }

    @Test func secretsAndEventsNoOneProvidesAreErrors() throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.write("catalog/secrets.yaml", "secrets:\n  - { name: odoo/api_key, owner: it@clinic.example }\n")
        try project.manifest("invoice", extra: "secrets: [odoo/api_key, payments/key]\nevents:\n  consumes: [service.completed]")
        let text = problems(project)
        #expect(text.contains { $0.contains("error: secrets[1]: no one provides secret 'payments/key'") }, "\(text)")
        #expect(!text.contains { $0.contains("secrets[0]") })
        #expect(text.contains { $0.contains("error: events.consumes[0]: no entry produces 'service.completed'") }, "\(text)")
        try project.plugin("ehr", kind: "source", body: "decode = function(p) return {} end")
        try project.manifest("ehr", kind: "source", extra: "events:\n  produces: [service.completed]")
        #expect(!problems(project).contains { $0.contains("no entry produces") })
    }

    @Test func dependencyCyclesAndMissingVersionsAreErrors() throws {
        let project = try TestProject()
        for name in ["a", "b", "c"] { try project.plugin(name) }
        try project.manifest("a", extra: "depends_on: [b@^1]")
        try project.manifest("b", extra: "depends_on: [c]")
        try project.manifest("c", extra: "depends_on: [a@^1.0, b@^2]")
        let text = problems(project)
        #expect(text.filter { $0.contains("dependency cycle") }.count == 1, "\(text)")
        #expect(text.contains { $0.contains("dependency cycle: a@1.0.0 → b@1.0.0 → c@1.0.0 → a@1.0.0") }, "\(text)")
        #expect(text.contains { $0.contains("depends_on[1]: no version of 'b' satisfies ^2 (catalog has 1.0.0)") }, "\(text)")
    }

    @Test func aFlowNamingAMissingPluginOrVersionIsAnError() throws {
        let project = try TestProject()
        try project.plugin("clinic", kind: "source", body: "decode = function(p) return {} end")
        try project.plugin("invoice")
        try project.manifest("clinic", kind: "source", extra: "events: { produces: [visit.done] }")
        try project.manifest("invoice")
        try project.write("catalog/flows/billing.yaml", """
            name: billing
            source:
              plugin: clinic
              content_types: [application/json]
            routes:
              - event: visit.done
                mappings: [invoice@^2]
                connector: odoo
            """)
        try project.manifest("billing", kind: "flow", entry: "catalog/flows/billing.yaml")
        let text = problems(project)
        #expect(text.contains("catalog/flows/billing.yaml:7: error: routes[0].mappings[0]: no version of plugin 'invoice' satisfies ^2"), "\(text)")
        #expect(text.contains("catalog/flows/billing.yaml:8: error: routes[0].connector: no plugin 'odoo'"), "\(text)")
        let catalog = project.load()
        let billing = try #require(catalog.entry(id: "billing@1.0.0"))
        #expect(catalog.refusal(of: billing, in: .dev)?.hasPrefix("invalid manifest") == true)
    }

    @Test func phiWithoutAFieldListIsAWarning() throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", extra: "data: { classes: [phi] }")
        let catalog = project.load()
        #expect(catalog.errors.isEmpty)
        #expect(catalog.warnings.map(\.field) == ["data.fields"])
    }

    @Test func theSchemaListsExactlyTheKeysTheParserAccepts() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("catalog/manifest.schema.json")
        let schema = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let properties = try #require(schema["properties"] as? [String: Any])
        #expect(Set(properties.keys) == Set(ManifestParser.fields))
        #expect(Set(schema["required"] as? [String] ?? []) == Set(ManifestParser.required))
        let sla = try #require((properties["sla"] as? [String: Any])?["properties"] as? [String: Any])
        #expect(Set(sla.keys) == Set(ManifestParser.slaFields))
    }
}

@Suite struct FolderHashTests {
    @Test func matchesTheSha256sumRecipeReviewersCanRun() throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.write("plugins/invoice/lib/codes.lua", "return {}\n")
        let hash = try FolderHash.of(project.root.appendingPathComponent("plugins/invoice"))
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "cd '\(project.root.path)/plugins/invoice' && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum"]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        shell.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(output.hasPrefix(hash.sha256))
        #expect(hash.files.keys.sorted() == ["lib/codes.lua", "plugin.lua", "spec/plugin_spec.lua"])
    }

    @Test func refusesSymbolicLinks() throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try FileManager.default.createSymbolicLink(atPath: project.root.appendingPathComponent("plugins/invoice/passwd").path, withDestinationPath: "/etc/passwd")
        #expect(throws: FolderHash.Failure.self) { try FolderHash.of(project.root.appendingPathComponent("plugins/invoice")) }
    }
}

@Suite struct LineDiffTests {
    @Test func producesUnifiedHunks() {
        let old = (1...20).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let new = old.replacingOccurrences(of: "line 10\n", with: "line ten\n").replacingOccurrences(of: "line 20\n", with: "line 20\nline 21\n")
        let diff = LineDiff.unified(old: old, new: new, oldName: "a", newName: "b")
        #expect(diff == """
            --- a
            +++ b
            @@ -7,7 +7,7 @@
             line 7
             line 8
             line 9
            -line 10
            +line ten
             line 11
             line 12
             line 13
            @@ -18,3 +18,4 @@
             line 18
             line 19
             line 20
            +line 21

            """)
        #expect(LineDiff.unified(old: old, new: old, oldName: "a", newName: "b").isEmpty)
    }
}
