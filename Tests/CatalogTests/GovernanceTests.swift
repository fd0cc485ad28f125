import Foundation
import Store
import Testing
@testable import Catalog

@Suite struct GovernanceTests {
    let owner = "Dana Ortiz <dana@clinic.example>"

    func approved(_ project: TestProject, audit: MemoryAudit) async throws -> Governance {
        let governance = Governance(projectRoot: project.root, audit: audit)
        _ = try await governance.apply(.submit, id: "invoice@1.0.0", by: "dana@clinic.example", reason: "ready")
        _ = try await governance.apply(.approve, id: "invoice@1.0.0", by: "Rae Chen <rae@board.example>", reason: "reviewed")
        return governance
    }

    @Test func theLifecycleRunsAndEveryTransitionIsAudited() async throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", owner: owner, extra: "# the board reads this comment\nevents: { produces: [odoo.invoice] }")
        let audit = MemoryAudit()
        let governance = try await approved(project, audit: audit)
        _ = try await governance.apply(.deprecate, id: "invoice@1.0.0", by: "rae@board.example", reason: "2.0 replaces it")
        let retired = try await governance.apply(.retire, id: "invoice@1.0.0", by: "ops@clinic.example", reason: "no flow uses it")
        #expect(retired.status == .retired)
        #expect(retired.approvals.map(\.decision) == [.submitted, .approved, .deprecated, .retired])
        let entries = await audit.entries
        #expect(entries.map(\.action) == ["catalog.submitted", "catalog.approved", "catalog.deprecated", "catalog.retired"])
        #expect(entries[1].actor == "Rae Chen <rae@board.example>" && entries[1].subject == "invoice@1.0.0")
        #expect(entries[1].detail.contains(#""from":"submitted""#) && entries[1].detail.contains(#""reason":"reviewed""#))
        // The rest of the file is as the author wrote it.
        #expect(try project.read("catalog/invoice-1.0.0.yaml").contains("# the board reads this comment\nevents: { produces: [odoo.invoice] }"))
    }

    @Test func fourEyesTheOwnerAndTheSubmitterCannotDecide() async throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", owner: owner)
        let governance = Governance(projectRoot: project.root, audit: MemoryAudit())
        _ = try await governance.apply(.submit, id: "invoice@1.0.0", by: "Sam Lee <sam@clinic.example>", reason: "ready")
        for who in ["dana@clinic.example", "DANA@clinic.example", "Dana Ortiz", "Sam Lee <sam@clinic.example>"] {
            await #expect(throws: GovernanceError.self) { try await governance.apply(.approve, id: "invoice@1.0.0", by: who, reason: "lgtm") }
        }
        do {
            _ = try await governance.apply(.approve, id: "invoice@1.0.0", by: "dana@clinic.example", reason: "lgtm")
        } catch let error as GovernanceError {
            #expect(error.code == .fourEyes)
            #expect(error.description.contains("owns invoice@1.0.0"))
        }
        #expect(try project.load().entry(id: "invoice@1.0.0")?.status == .submitted)
    }

    @Test func invalidTransitionsAndMissingReasonsAreRefusedAndChangeNothing() async throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", owner: owner)
        let before = try project.read("catalog/invoice-1.0.0.yaml")
        let governance = Governance(projectRoot: project.root, audit: MemoryAudit())
        await #expect(throws: GovernanceError(code: .invalidTransition,
                                              description: "cannot approve invoice@1.0.0: it is draft (approve applies to submitted)")) {
            try await governance.apply(.approve, id: "invoice@1.0.0", by: "rae@board.example", reason: "x")
        }
        await #expect(throws: GovernanceError.self) { try await governance.apply(.submit, id: "invoice@1.0.0", by: "dana@clinic.example", reason: " ") }
        await #expect(throws: GovernanceError.self) { try await governance.apply(.submit, id: "invoice@9.0.0", by: "dana@clinic.example", reason: "x") }
        #expect(try project.read("catalog/invoice-1.0.0.yaml") == before)
    }

    @Test func aFailedAuditLeavesTheManifestAsItWas() async throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", owner: owner)
        let before = try project.read("catalog/invoice-1.0.0.yaml")
        let audit = MemoryAudit()
        await audit.setFailNext()
        await #expect(throws: GovernanceError.self) {
            try await Governance(projectRoot: project.root, audit: audit).apply(.submit, id: "invoice@1.0.0", by: "dana@clinic.example", reason: "x")
        }
        #expect(try project.read("catalog/invoice-1.0.0.yaml") == before)
    }

    @Test func productionRunsTheApprovedBytesOnly() async throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.plugin("other")
        try project.manifest("invoice", owner: owner, extra: "egress: [https://odoo.clinic.example]")
        try project.manifest("other", owner: owner)
        _ = try await approved(project, audit: MemoryAudit())
        var catalog = project.load()
        let invoice = try #require(catalog.entry(id: "invoice@1.0.0"))
        #expect(catalog.refusal(of: invoice, in: .production) == nil)
        let other = try #require(catalog.entry(id: "other@1.0.0"))
        #expect(catalog.refusal(of: other, in: .production) == "unapproved (status draft)")
        #expect(catalog.refusal(of: other, in: .staging) == nil)

        // One byte changed after approval.
        let approvedHash = try #require(invoice.standingApproval?.sha256)
        var source = try project.read("plugins/invoice/plugin.lua")
        source = source.replacingOccurrences(of: "return e", with: "return f")
        try project.write("plugins/invoice/plugin.lua", source)
        catalog = project.load()
        let now = try #require(catalog.hashes["invoice@1.0.0"]?.sha256)
        let tampered = try #require(catalog.entry(id: "invoice@1.0.0"))
        #expect(catalog.refusal(of: tampered, in: .production) == "hash mismatch: approved sha256 \(approvedHash), folder now \(now) (modified plugin.lua)")
        #expect(catalog.refusal(of: tampered, in: .staging) == nil)
    }

    @Test func wideningTheEgressListAfterApprovalIsCaught() async throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", owner: owner, extra: "egress: [https://odoo.clinic.example]")
        _ = try await approved(project, audit: MemoryAudit())
        let text = try project.read("catalog/invoice-1.0.0.yaml")
        try project.write("catalog/invoice-1.0.0.yaml", text.replacingOccurrences(of: "egress: [https://odoo.clinic.example]",
                                                                                   with: "egress: [https://odoo.clinic.example, https://exfil.example]"))
        let catalog = project.load()
        let entry = try #require(catalog.entry(id: "invoice@1.0.0"))
        let refusal = try #require(catalog.refusal(of: entry, in: .production))
        #expect(refusal.hasPrefix("manifest changed since approval"))
    }

    @Test func retiredEntriesAreRefusedInProduction() async throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", owner: owner)
        let governance = try await approved(project, audit: MemoryAudit())
        _ = try await governance.apply(.retire, id: "invoice@1.0.0", by: "ops@clinic.example", reason: "replaced")
        let catalog = project.load()
        let entry = try #require(catalog.entry(id: "invoice@1.0.0"))
        #expect(catalog.refusal(of: entry, in: .production) == "retired")
    }

    @Test func reviewerTextCannotBreakTheYaml() async throws {
        let project = try TestProject()
        try project.plugin("invoice")
        try project.manifest("invoice", owner: owner)
        let governance = Governance(projectRoot: project.root, audit: MemoryAudit())
        let hostile = "ok\"\nstatus: approved\napprovals: []\n# \\u0000 \u{7}"
        let manifest = try await governance.apply(.submit, id: "invoice@1.0.0", by: "dana@clinic.example", reason: hostile)
        #expect(manifest.status == .submitted)
        #expect(manifest.approvals.last?.reason == hostile.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(project.load().entry(id: "invoice@1.0.0")?.status == .submitted)
    }
}
