import Foundation
import Logging
import LuaRuntime
import Store
import Testing
@testable import Catalog

/// The board's review pack, rendered from a real project on disk: manifests parsed by the catalog, an approval and a
/// submission written by `Governance`, a plugin edited after its approval, and Lua tests run by the real runner.
@Suite struct CatalogReportTests {
    static let generatedAt = Date(timeIntervalSince1970: 1_794_990_360)   // 2026-11-18 08:26:00 UTC

    @Test func summaryCountsStatusesRefusalsAndProblems() async throws {
        let project = try await ReportProject.make()
        let md = project.render(.md)
        let summary = try section(md, from: "## Summary", to: "## Open decisions")
        // entries, awaiting, refused, failing tests, errors, warnings
        #expect(summary.contains("| 4 | 1 | 4 | 1 | \(project.catalog.errors.count) | \(project.catalog.warnings.count) |"), "\(summary)")
        #expect(project.catalog.errors.count >= 1 && project.catalog.warnings.count >= 1)
        // by status, in lifecycle order: draft, submitted, approved, rejected, deprecated, retired
        #expect(summary.contains("| 2 | 1 | 1 | 0 | 0 | 0 |"), "\(summary)")
        #expect(summary.contains("1 approved entry would not run in production:** `appointment-invoice@1.0.0`"), "\(summary)")
        #expect(summary.contains("| `appointment-invoice@1.0.0` | approved | hash mismatch: approved sha256"), "\(summary)")
        #expect(summary.contains("| `patient-intake@0.2.0` | submitted | unapproved (status submitted) |"), "\(summary)")
        // A manifest that did not load is not lost: its problems are listed.
        #expect(summary.contains("catalog/broken-1.0.0.yaml:1"), "\(summary)")
        #expect(md.contains("Generated 2026-11-18 08:26 UTC"))

        let html = project.render(.html)
        let htmlSummary = try section(html, from: #"<section id="summary""#, to: #"<section id="decisions""#)
        #expect(htmlSummary.contains(#"<li class="card alarm"><span class="n">1</span> awaiting a decision</li>"#), "\(htmlSummary)")
        #expect(htmlSummary.contains(#"<li class="card alarm"><span class="n">4</span> production would refuse</li>"#), "\(htmlSummary)")
        #expect(htmlSummary.contains("hash mismatch: approved sha256"))
        #expect(htmlSummary.contains("catalog/broken-1.0.0.yaml:1"))
    }

    @Test func submittedEntryIsUnderOpenDecisionsWithOwnerAndWhatToLookAt() async throws {
        let project = try await ReportProject.make()
        let md = project.render(.md)
        let decisions = try section(md, from: "## Open decisions", to: "## Entries")
        #expect(decisions.contains("### `patient-intake@0.2.0` (source)"), "\(decisions)")
        #expect(decisions.contains("- **Owner:** Ops \\| Intake \\<intake@clinic.example\\>"), "\(decisions)")
        #expect(decisions.contains("- **Submitted:** by Ops \\| Intake \\<intake@clinic.example\\> on 2026-11-10 09:00 UTC: “ready for review”"), "\(decisions)")
        #expect(decisions.contains("- Never approved: review the whole entry"))
        #expect(decisions.contains("- Handles PII: 2 fields may leave (patient.mrn, patient.name)"), "\(decisions)")
        #expect(decisions.contains("- Sends to https://intake.clinic.example:443"), "\(decisions)")
        // Edited after submission: the reviewer must know the review would not cover what runs.
        #expect(decisions.contains("Changed after it was submitted (modified plugin.lua)"), "\(decisions)")
        // Only submitted entries are open decisions.
        #expect(!decisions.contains("appointment-invoice"), "\(decisions)")
        #expect(!decisions.contains("odoo-connector"), "\(decisions)")

        let html = project.render(.html)
        let htmlDecisions = try section(html, from: #"<section id="decisions""#, to: #"<section id="entries""#)
        #expect(htmlDecisions.contains(##"<a href="#entry-patient-intake-0-2-0">patient-intake@0.2.0</a>"##), "\(htmlDecisions)")
        #expect(htmlDecisions.contains("<dt>Owner</dt><dd>Ops | Intake &lt;intake@clinic.example&gt;</dd>"), "\(htmlDecisions)")
        #expect(htmlDecisions.contains("<li>Changed after it was submitted (modified plugin.lua): the review would not cover what runs</li>"))
        #expect(!htmlDecisions.contains("appointment-invoice"))
    }

    @Test func manifestTextIsEscapedInHTML() async throws {
        let project = try await ReportProject.make()
        let html = project.render(.html)
        // The only script element is the report's own.
        #expect(html.components(separatedBy: "<script").count == 2, "one <script> expected")
        #expect(!html.contains(#"<script>alert("pwned")"#))
        #expect(!html.contains("<b>fine</b>"))
        let intake = try section(html, from: #"<article class="entry" id="entry-patient-intake-0-2-0""#, to: "</article>")
        #expect(intake.contains(#"<p class="description">Takes intake forms &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &#39;quotes&#39; | `ticks`</p>"#),
                "\(intake)")
        let invoice = try section(html, from: #"<article class="entry" id="entry-appointment-invoice-1-0-0""#, to: "</article>")
        #expect(invoice.contains("<td class=\"wrap\">looks &lt;b&gt;fine&lt;/b&gt; to me</td>"), "\(invoice)")
        // Every manifest-supplied value goes through the escape; spot-check the helper on all five characters.
        #expect(CatalogReport.htmlEscape(#"<a href="x" onclick='y'>&</a>"#) == "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
    }

    @Test func markdownEscapesPipesAndBackticksSoTablesHold() async throws {
        let project = try await ReportProject.make()
        let md = project.render(.md)
        #expect(md.contains(#"Takes intake forms \<script\>alert("pwned")\</script\> \& 'quotes' \| \`ticks\`"#), "\(md)")
        // The index row of the entry whose owner has a pipe still has exactly seven cells.
        let row = try #require(md.components(separatedBy: "\n").first { $0.hasPrefix("| `patient-intake@0.2.0` | source |") })
        #expect(unescapedPipes(row) == 8, "\(row)")
        for line in md.components(separatedBy: "\n") where line.hasPrefix("| `patient-intake@0.2.0` |") {
            #expect(!line.contains("| Intake <"), "\(line)")
        }
        #expect(CatalogReport.markdownEscape("a|b`c\nd") == #"a\|b\`c<br>d"#)
    }

    @Test func approvedEntryEditedAfterApprovalShowsTheChangedFiles() async throws {
        let project = try await ReportProject.make()
        let md = project.render(.md)
        let invoice = try section(md, from: "### `appointment-invoice@1.0.0` — approved", to: "### `odoo-connector@")
        let changes = try section(invoice, from: "#### What changed since its last approval", to: "#### Decision history")
        #expect(changes.contains("Last approved on 2026-11-12 14:30 UTC by Board Reviewer \\<board@clinic.example\\>."), "\(changes)")
        #expect(changes.contains("- modified plugin.lua\n"), "\(changes)")
        #expect(changes.contains("- added fixtures/sample.json\n"), "\(changes)")
        #expect(!changes.contains("spec/x\\_spec.lua"), "an unchanged file is not listed: \(changes)")
        #expect(changes.contains("The manifest is as approved."), "\(changes)")
        #expect(invoice.contains("**Production would refuse it:** hash mismatch"), "\(invoice)")
        let history = try section(invoice, from: "#### Decision history", to: "#### Catalog problems")
        #expect(history.contains("| 2026-11-11 10:00 UTC | submitted | Fin Ops \\<finops@clinic.example\\> | ready |"), "\(history)")
        #expect(history.contains("| 2026-11-12 14:30 UTC | approved | Board Reviewer \\<board@clinic.example\\> | looks \\<b\\>fine\\</b\\> to me |"), "\(history)")

        let html = project.render(.html)
        let article = try section(html, from: #"<article class="entry" id="entry-appointment-invoice-1-0-0""#, to: "</article>")
        #expect(article.contains(#"<li class="modified">modified plugin.lua</li>"#), "\(article)")
        #expect(article.contains(#"<li class="added">added fixtures/sample.json</li>"#), "\(article)")
        #expect(article.contains(#"<p class="verdict bad"><strong>Production would refuse it:</strong> hash mismatch"#))

        // Entries never approved say so.
        let intake = try section(md, from: "### `patient-intake@0.2.0` — submitted", to: "\n### ")
        #expect(intake.contains("Never approved: there is no earlier approval to compare with."), "\(intake)")
    }

    @Test func manifestEditedAfterApprovalIsReportedAsAManifestChange() async throws {
        let project = try await ReportProject.make()
        // Restore the plugin as approved, then widen the manifest (a new field that may leave).
        try project.write("plugins/appointment-invoice/plugin.lua", ReportProject.invoicePlugin)
        try FileManager.default.removeItem(at: project.root.appendingPathComponent("plugins/appointment-invoice/fixtures"))
        let restored = CatalogReport.render(Catalog.load(projectRoot: project.root), tests: project.tests, format: .md, generatedAt: Self.generatedAt)
        let before = try section(restored, from: "### `appointment-invoice@1.0.0`", to: "#### Decision history")
        #expect(before.contains("Nothing changed: the folder and the manifest are as approved."), "\(before)")
        #expect(before.contains("**Production would run it.**"), "\(before)")

        let file = project.root.appendingPathComponent("catalog/appointment-invoice-1.0.0.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "fields: [patient.mrn, invoice.total]", with: "fields: [patient.mrn, invoice.total, patient.birth_date]").utf8)
            .write(to: file)
        let reloaded = Catalog.load(projectRoot: project.root)
        let after = try section(CatalogReport.render(reloaded, tests: project.tests, format: .md, generatedAt: Self.generatedAt),
                                from: "### `appointment-invoice@1.0.0`", to: "#### Decision history")
        #expect(after.contains("**The manifest itself changed** since it was approved"), "\(after)")
        #expect(after.contains("The files are as approved."), "\(after)")
        #expect(after.contains("**Production would refuse it:** manifest changed since approval"), "\(after)")
    }

    @Test func failingLuaTestIsShownWithLocationAndMessage() async throws {
        let project = try await ReportProject.make()
        let report = try #require(project.tests["appointment-invoice@1.0.0"])
        #expect(report.passed == 1 && report.failed == 1, "\(report.results)")
        let failure = try #require(report.results.first { $0.status == .failed })
        let message = try #require(failure.message)
        let location = try #require(failure.location)
        // Shown relative to the project, like the manifests.
        #expect(location.hasSuffix("plugins/appointment-invoice/spec/x_spec.lua:7"), "\(location)")
        let shown = "plugins/appointment-invoice/spec/x_spec.lua:7"
        #expect(message.contains("5550"), "\(message)")

        let md = project.render(.md)
        let tests = try section(md, from: "### `appointment-invoice@1.0.0`", to: "#### What changed")
        #expect(tests.contains("**1 passed, 1 failed, 0 pending**"), "\(tests)")
        #expect(tests.contains("| appointment-invoice \\> bills in cents | plugins/appointment-invoice/spec/x\\_spec.lua:7 | \(CatalogReport.markdownEscape(message)) |"),
                "\(tests)")
        #expect(!md.contains(project.root.path), "paths are relative to the project")

        let html = project.render(.html)
        let article = try section(html, from: #"<article class="entry" id="entry-appointment-invoice-1-0-0""#, to: "</article>")
        #expect(article.contains(#"<span class="badge bad">1 passed, 1 failed, 0 pending</span>"#), "\(article)")
        #expect(article.contains("<tr><td>appointment-invoice &gt; bills in cents</td><td><code>\(shown)</code></td><td><pre>\(CatalogReport.htmlEscape(message))</pre></td></tr>"),
                "\(article)")
        // The passing one is counted, not listed; entries without a report say the tests were not run.
        #expect(!article.contains("keys the invoice by the event id"))
        #expect(!html.contains(project.root.path), "paths are relative to the project")
        let intake = try section(md, from: "### `patient-intake@0.2.0` — submitted", to: "#### What changed")
        #expect(intake.contains("Not run for this report."), "\(intake)")
    }

    @Test func entrySectionsCarryOwnerDataEgressSecretsSLAEventsAndProblems() async throws {
        let project = try await ReportProject.make()
        let md = project.render(.md)
        let invoice = try section(md, from: "### `appointment-invoice@1.0.0`", to: "#### Tests")
        #expect(invoice.contains("| Data classes | **PHI** (protected health information), **financial** (financial data) |"), "\(invoice)")
        #expect(invoice.contains("| Fields that may leave | patient.mrn, invoice.total |"), "\(invoice)")
        #expect(invoice.contains("| SLA latency p95 | 250 ms |"), "\(invoice)")
        #expect(invoice.contains("| SLA max delivery delay | 15 min |"), "\(invoice)")
        #expect(invoice.contains("| SLA availability | 99.9 % |"), "\(invoice)")
        #expect(invoice.contains("| SLA retry | up to 5 attempts, backoff from 500 ms to 1 min |"), "\(invoice)")
        #expect(invoice.contains("| Consumes | appointment.completed |"), "\(invoice)")
        #expect(invoice.contains("| Produces | invoice.requested |"), "\(invoice)")

        let connector = try section(md, from: "### `odoo-connector@1.2.0`", to: "### `odoo-connector@1.10.0`")
        #expect(connector.contains("| Egress origins | https://odoo.clinic.example:443 |"), "\(connector)")
        #expect(connector.contains("| Secrets | odoo/api\\_key (provided by Finance IT \\<finance-it@clinic.example\\>) |"), "\(connector)")
        #expect(connector.contains("| Depends on | appointment-invoice@^1.0 |"), "\(connector)")
        #expect(connector.contains("| SLA | **none declared** |"), "\(connector)")
        let problems = try section(connector, from: "#### Catalog problems", to: "\n### ")
        #expect(problems.contains("| warning | catalog/odoo-connector-1.2.0.yaml:1 | sla | no SLA"), "\(problems)")

        // The version that depends on an entry that is not there carries that error, and production refuses it for it.
        let newer = try section(md, from: "### `odoo-connector@1.10.0`", to: "\n### ")
        #expect(newer.contains("| **error** | catalog/odoo-connector-1.10.0.yaml:"), "\(newer)")
        #expect(newer.contains("no entry named 'billing-rules' in the catalog"), "\(newer)")
        #expect(newer.contains("**Production would refuse it:** invalid manifest:"), "\(newer)")

        let html = project.render(.html)
        let article = try section(html, from: #"<article class="entry" id="entry-appointment-invoice-1-0-0""#, to: "</article>")
        #expect(article.contains(#"<span class="badge dc dc-phi" title="protected health information">PHI</span>"#), "\(article)")
        #expect(article.contains(#"<span class="badge status status-approved">approved</span>"#))
        #expect(html.contains(#"<article class="entry" id="entry-patient-intake-0-2-0" data-status="submitted""#))
    }

    @Test func entriesAreSortedByNameThenSemanticVersion() async throws {
        let project = try await ReportProject.make()
        for text in [project.render(.md), project.render(.html)] {
            let order = ["appointment-invoice@1.0.0", "odoo-connector@1.2.0", "odoo-connector@1.10.0", "patient-intake@0.2.0"]
            let entries = try section(text, from: text.hasPrefix("#") ? "## Entries" : #"<section id="entries""#, to: "\u{0}")
            let positions = try order.map { id in
                try #require(entries.range(of: text.hasPrefix("#") ? "### `\(id)`" : "<h3 id=\"entry-\(CatalogReport.slug(id))-h\">")?.lowerBound, "\(id)")
            }
            #expect(positions == positions.sorted(), "\(order)")
        }
    }

    @Test func htmlIsSelfContained() async throws {
        let project = try await ReportProject.make()
        let html = project.render(.html)
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        #expect(html.contains("<title>Catalog review pack — 2026-11-18 08:26 UTC</title>"))
        for external in ["http-equiv=\"refresh\"", "<link", "src=", "@import", "url("] {
            #expect(!html.contains(external), "\(external)")
        }
        // The policy pins the inline style and script by hash: a changed script would be blocked, not run.
        let style = CatalogReport.HTMLRenderer.cspHash(CatalogReport.HTMLRenderer.style)
        let script = CatalogReport.HTMLRenderer.cspHash(CatalogReport.HTMLRenderer.script)
        #expect(html.contains("default-src 'none'; style-src '\(style)'; script-src '\(script)';"))
        #expect(html.contains("<script>\(CatalogReport.HTMLRenderer.script)</script>"))
        #expect(html.contains("<style>\(CatalogReport.HTMLRenderer.style)</style>"))
    }

    // MARK: Helpers

    /// The text from the first `from` to the next `to` after it (to the end when `to` does not follow).
    private func section(_ text: String, from: String, to: String) throws -> String {
        let start = try #require(text.range(of: from), "'\(from)' not found")
        let rest = text[start.upperBound...]
        let end = rest.range(of: to)?.lowerBound ?? rest.endIndex
        return String(text[start.lowerBound..<end])
    }

    private func unescapedPipes(_ line: String) -> Int {
        var count = 0
        var escaped = false
        for character in line {
            if character == "|" && !escaped { count += 1 }
            escaped = character == "\\" && !escaped
        }
        return count
    }
}

/// A scratch project: `catalog/` with five manifest files (four entries and one that does not load) (one that does not load), three plugin folders, a secret
/// inventory; the invoice plugin submitted and approved through `Governance`, then edited; the intake plugin submitted.
final class ReportProject: Sendable {
    let root: URL
    let catalog: Catalog
    let tests: [String: PluginTestRunner.Report]

    init(root: URL, catalog: Catalog, tests: [String: PluginTestRunner.Report]) {
        self.root = root
        self.catalog = catalog
        self.tests = tests
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func render(_ format: CatalogReport.Format) -> String {
        CatalogReport.render(catalog, tests: tests, format: format, generatedAt: CatalogReportTests.generatedAt)
    }

    func write(_ path: String, _ text: String) throws { try Self.write(root, path, text) }

    static let invoicePlugin = """
        local M = { kind = "mapping" }
        function M.map(event, ctx)
          return { model = "account.move", external_id = "inv_" .. event.id, values = { total = event.total } }
        end
        return M

        """

    static func make() async throws -> ReportProject {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-report-\(UUID().uuidString)")
        try write(root, "catalog/secrets.yaml", """
            secrets:
              - name: odoo/api_key
                owner: Finance IT <finance-it@clinic.example>
                description: Odoo API key of the integration user

            """)
        try write(root, "plugins/appointment-invoice/plugin.lua", invoicePlugin)
        try write(root, "plugins/appointment-invoice/spec/x_spec.lua", """
            local plugin = require("plugin")
            describe("appointment-invoice", function()
              it("keys the invoice by the event id", function()
                assert.are.equal("inv_1", plugin.map({ id = "1", total = 1 }, {}).external_id)
              end)
              it("bills in cents", function()
                assert.are.equal(5550, plugin.map({ id = "1", total = 55.5 }, {}).values.total)
              end)
            end)

            """)
        try write(root, "plugins/patient-intake/plugin.lua", """
            local M = { kind = "source" }
            function M.decode(request, ctx) return { { type = "appointment.completed", id = "1" } } end
            return M

            """)
        try write(root, "plugins/patient-intake/spec/x_spec.lua", "describe('intake', function() it('is pending') end)\n")
        try write(root, "plugins/odoo-connector/plugin.lua", """
            local M = { kind = "connector" }
            function M.deliver(operation, ctx) return { status = "delivered" } end
            return M

            """)
        try write(root, "plugins/odoo-connector/spec/x_spec.lua", "describe('connector', function() it('delivers', function() end) end)\n")

        try write(root, "catalog/appointment-invoice-1.0.0.yaml", """
            name: appointment-invoice
            kind: mapping
            version: 1.0.0
            owner: Fin Ops <finops@clinic.example>
            team: Revenue cycle
            description: Turns a completed appointment into one Odoo customer invoice.
            entry: plugins/appointment-invoice
            sla:
              latency_p95_ms: 250
              max_delivery_delay: 15m
              availability: 99.9
              retry: {max_attempts: 5, base_delay_ms: 500, max_delay_ms: 60000}
            data:
              classes: [phi, financial]
              fields: [patient.mrn, invoice.total]
              masked: [patient.name]
            events:
              consumes: [appointment.completed]
              produces: [invoice.requested]
            status: draft

            """)
        try write(root, "catalog/patient-intake-0.2.0.yaml", """
            name: patient-intake
            kind: source
            version: 0.2.0
            owner: Ops | Intake <intake@clinic.example>
            team: Front desk
            description: "Takes intake forms <script>alert(\\"pwned\\")</script> & 'quotes' | `ticks`"
            entry: plugins/patient-intake
            sla: {latency_p95_ms: 1500}
            data:
              classes: [pii]
              fields: [patient.mrn, patient.name]
            egress: [https://intake.clinic.example]
            events:
              produces: [appointment.completed]
            status: draft

            """)
        for (version, depends) in [("1.2.0", "appointment-invoice@^1.0"), ("1.10.0", "billing-rules")] {
            try write(root, "catalog/odoo-connector-\(version).yaml", """
                name: odoo-connector
                kind: connector
                version: \(version)
                owner: Finance IT <finance-it@clinic.example>
                team: Finance IT
                description: Delivers invoices to Odoo.
                entry: plugins/odoo-connector
                egress: [https://odoo.clinic.example]
                secrets: [odoo/api_key]
                depends_on: [\(depends)]
                status: draft

                """)
        }
        try write(root, "catalog/broken-1.0.0.yaml", "name: broken\nkind: mapping\n")

        let formatter = ISO8601DateFormatter()
        let governance = Governance(projectRoot: root, audit: ReportTestAudit())
        _ = try await governance.apply(.submit, id: "appointment-invoice@1.0.0", by: "Fin Ops <finops@clinic.example>", reason: "ready",
                                       at: formatter.date(from: "2026-11-11T10:00:00Z")!)
        _ = try await governance.apply(.approve, id: "appointment-invoice@1.0.0", by: "Board Reviewer <board@clinic.example>",
                                       reason: "looks <b>fine</b> to me", at: formatter.date(from: "2026-11-12T14:30:00Z")!)
        _ = try await governance.apply(.submit, id: "patient-intake@0.2.0", by: "Ops | Intake <intake@clinic.example>", reason: "ready for review",
                                       at: formatter.date(from: "2026-11-10T09:00:00Z")!)
        // After the decisions: the approved plugin is edited and gains a file; the submitted one is edited too.
        try write(root, "plugins/appointment-invoice/plugin.lua", invoicePlugin + "-- tweaked after approval\n")
        try write(root, "plugins/appointment-invoice/fixtures/sample.json", "{}\n")
        try write(root, "plugins/patient-intake/plugin.lua", "local M = { kind = \"source\" }\nfunction M.decode() return {} end\nreturn M\n")

        let catalog = Catalog.load(projectRoot: root)
        let limits = try SandboxProfile.load(named: "dev", from: repositoryRoot.appendingPathComponent("sandbox/profiles")).limits
        let manifest = try #require(catalog.entry(id: "appointment-invoice@1.0.0"))
        let report = await PluginTestRunner.run(Plugin(name: manifest.id, folder: catalog.entryURL(manifest)), limits: limits,
                                                logger: Logger(label: "conflux.tests.catalog-report"))
        return ReportProject(root: root, catalog: catalog, tests: [manifest.id: report])
    }

    static func write(_ root: URL, _ path: String, _ text: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    private static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Governance records each decision in an audit trail; the test keeps it in memory.
actor ReportTestAudit: AuditLog {
    private(set) var entries: [AuditEntry] = []
    func audit(_ entries: [AuditEntry], at: Date) async throws { self.entries += entries }
    func verifyAudit() async throws -> AuditVerification { .intact(records: entries.count, head: "") }
    func auditRecords(since: Date?, limit: Int) async throws -> [AuditRecord] { [] }
}
