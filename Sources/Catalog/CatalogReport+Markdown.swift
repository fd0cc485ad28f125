import Foundation
import LuaRuntime

extension CatalogReport {
    /// The same pack as Markdown (GitHub-flavoured tables), for a pull request or a wiki page. Manifest text is
    /// backslash-escaped so it stays text: no emphasis, links, HTML or broken tables out of a description.
    struct MarkdownRenderer {
        let review: Review

        func render() -> String {
            var m = "# Catalog review pack\n\n"
            m += "Generated \(CatalogReport.date(review.generatedAt)) · \(CatalogReport.count(review.entries.count, "entry")) · "
                + "metadata from the catalog manifests, folder hashes and plugin tests\n\n"
            m += summary()
            m += openDecisions()
            m += entries()
            return m
        }

        private func summary() -> String {
            var m = "## Summary\n\n"
            m += table(["Entries", "Awaiting a decision", "Production would refuse", "With failing tests", "Errors", "Warnings"],
                       [[review.entries.count, review.awaiting.count, review.refused.count, review.failingTests.count, review.errorCount,
                         review.warningCount].map(String.init)])
            m += table(review.statusCounts.map(\.status.rawValue), [review.statusCounts.map { String($0.count) }], caption: "Entries by status")

            m += "### Awaiting a decision\n\n"
            m += review.awaiting.isEmpty ? "No entry awaits a decision.\n\n"
                : review.awaiting.map { "- `\($0.manifest.id)` — \(md($0.manifest.owner))\n" }.joined() + "\n"

            m += "### What production would refuse\n\n"
            if !review.approvedButRefused.isEmpty {
                m += "> **\(CatalogReport.count(review.approvedButRefused.count, "approved entry")) would not run in production:** "
                    + review.approvedButRefused.map { "`\($0.manifest.id)`" }.joined(separator: ", ") + ".\n\n"
            }
            m += review.refused.isEmpty ? "Production would run every entry.\n\n"
                : table(["Entry", "Status", "Why"], review.refused.map { ["`\($0.manifest.id)`", $0.manifest.status.rawValue, md($0.refusal ?? "")] })

            m += "### Catalog problems\n\n"
            m += "\(CatalogReport.count(review.errorCount, "error")) and \(CatalogReport.count(review.warningCount, "warning")) in the catalog"
                + (review.errorCount > 0 ? "; an entry with an error runs nowhere.\n\n" : ".\n\n")
            if !review.otherProblems.isEmpty {
                m += problemTable(review.otherProblems, caption: "Problems outside the loaded entries (manifests that did not load, the secret inventory)")
            }
            return m
        }

        private func openDecisions() -> String {
            var m = "## Open decisions\n\n"
            if review.awaiting.isEmpty { return m + "No entry awaits a decision.\n\n" }
            for entry in review.awaiting {
                let manifest = entry.manifest
                m += "### `\(manifest.id)` (\(manifest.kind.rawValue))\n\n\(md(manifest.description))\n\n"
                m += "- **Owner:** \(md(manifest.owner))\n- **Team:** \(md(manifest.team))\n"
                if let submitted = manifest.approvals.last(where: { $0.decision == .submitted }) {
                    m += "- **Submitted:** by \(md(submitted.reviewer)) on \(CatalogReport.date(submitted.at)): “\(md(submitted.reason))”\n"
                }
                m += "\n**What to look at**\n\n" + entry.attention.map { "- \(md($0))\n" }.joined() + "\n"
            }
            return m
        }

        private func entries() -> String {
            var m = "## Entries\n\n"
            if review.entries.isEmpty { return m + "The catalog has no entries.\n" }
            m += table(["Entry", "Kind", "Status", "Owner", "Data", "Tests", "Production"], review.entries.map { entry in
                let manifest = entry.manifest
                return ["`\(manifest.id)`", manifest.kind.rawValue, manifest.status.rawValue, md(manifest.owner),
                        manifest.data.classes.isEmpty ? "—" : manifest.data.classes.map { "**\(CatalogReport.dataClassLabel($0))**" }.joined(separator: ", "),
                        entry.tests.map { CatalogReport.testSummary($0) } ?? (manifest.kind == .flow ? "—" : "not run"),
                        entry.refusal == nil ? "runs" : "**refused**"]
            })
            for entry in review.entries { m += section(entry) }
            return m
        }

        private func section(_ entry: EntryReview) -> String {
            let manifest = entry.manifest
            var m = "### `\(manifest.id)` — \(manifest.status.rawValue)\n\n\(md(manifest.description))\n\n"
            m += entry.refusal.map { "**Production would refuse it:** \(md($0))\n\n" } ?? "**Production would run it.**\n\n"
            let sla = manifest.sla
            let notSet = "not set"
            let secrets = manifest.secrets.map { name in
                md(name) + (review.secretOwners[name].map { " (provided by \(md($0)))" } ?? " (**not in the secret inventory**)")
            }
            var rows: [[String]] = [
                ["Kind", manifest.kind.rawValue],
                ["Owner", md(manifest.owner)],
                ["Team", md(manifest.team)],
                ["Manifest", md(manifest.file)],
                ["Entry", md(manifest.entry)],
                ["Folder sha256 now", entry.folderSHA256.map { "`\($0)`" } ?? "cannot be computed (see the problems)"],
                ["Data classes", manifest.data.classes.isEmpty ? "none declared"
                    : manifest.data.classes.map { "**\(CatalogReport.dataClassLabel($0))** (\(CatalogReport.dataClassMeaning($0)))" }.joined(separator: ", ")],
                ["Fields that may leave", manifest.data.fields.isEmpty
                    ? (manifest.data.classes.isEmpty ? "none listed" : "**none listed — the board cannot check data minimisation**") : joined(manifest.data.fields)],
            ]
            if !manifest.data.masked.isEmpty { rows.append(["Masked in logs and errors", joined(manifest.data.masked)]) }
            rows += [
                ["Egress origins", manifest.egressOrigins.isEmpty ? "none (no outbound calls)" : joined(manifest.egressOrigins)],
                ["Secrets", secrets.isEmpty ? "none" : secrets.joined(separator: ", ")],
            ]
            if let sla {
                rows += [
                    ["SLA latency p95", sla.latencyP95Milliseconds.map(CatalogReport.milliseconds) ?? notSet],
                    ["SLA max delivery delay", sla.maxDeliveryDelaySeconds.map(CatalogReport.seconds) ?? notSet],
                    ["SLA availability", sla.availability.map(CatalogReport.percent) ?? notSet],
                    ["SLA retry", sla.retry.map(CatalogReport.retry) ?? notSet],
                ]
            } else {
                rows.append(["SLA", "**none declared**"])
            }
            rows += [
                ["Consumes", manifest.events.consumes.isEmpty ? "none" : joined(manifest.events.consumes)],
                ["Produces", manifest.events.produces.isEmpty ? "none" : joined(manifest.events.produces)],
                ["Depends on", manifest.dependsOn.isEmpty ? "nothing" : joined(manifest.dependsOn.map(\.description))],
            ]
            m += table(["Field", "Value"], rows)
            m += "#### Tests\n\n" + tests(entry)
            m += "#### What changed since its last approval\n\n" + changes(entry)
            m += "#### Decision history\n\n"
            m += manifest.approvals.isEmpty ? "No decision yet.\n\n" : table(["When", "Decision", "Who", "Reason", "Folder sha256"], manifest.approvals.map {
                [CatalogReport.date($0.at), $0.decision.rawValue, md($0.reviewer), md($0.reason), "`\(CatalogReport.shortHash($0.sha256))…`"]
            })
            m += "#### Catalog problems\n\n" + (entry.problems.isEmpty ? "None.\n\n" : problemTable(entry.problems, caption: nil))
            return m
        }

        private func tests(_ entry: EntryReview) -> String {
            guard let report = entry.tests else {
                return entry.manifest.kind == .flow ? "A flow has no Lua tests of its own; its plugins' tests apply.\n\n" : "Not run for this report.\n\n"
            }
            var m = (report.failed > 0 ? "**\(CatalogReport.testSummary(report))**" : CatalogReport.testSummary(report)) + "\n\n"
            let failures = report.results.filter { $0.status == .failed }
            if !failures.isEmpty {
                m += table(["Failing test", "Location", "Message"], failures.map { [md($0.name), md($0.location.map(review.relative) ?? "—"), md($0.message ?? "failed")] })
            }
            let pending = report.results.filter { $0.status == .pending }
            if !pending.isEmpty { m += "Pending:\n\n" + pending.map { "- \(md($0.name))\n" }.joined() + "\n" }
            return m
        }

        private func changes(_ entry: EntryReview) -> String {
            var m = ""
            switch entry.sinceApproval {
            case .neverApproved:
                m += "Never approved: there is no earlier approval to compare with.\n\n"
            case .compared(let comparison):
                m += "Last approved on \(CatalogReport.date(comparison.decision.at)) by \(md(comparison.decision.reviewer)).\n\n"
                m += detail(comparison, hashMissing: entry.hashMissing, since: "approved")
            }
            if let submission = entry.sinceSubmission {
                m += "Since it was submitted on \(CatalogReport.date(submission.decision.at)) by \(md(submission.decision.reviewer)):\n\n"
                m += detail(submission, hashMissing: entry.hashMissing, since: "submitted")
            }
            return m
        }

        private func detail(_ comparison: Comparison, hashMissing: Bool, since: String) -> String {
            if hashMissing { return "**The folder cannot be hashed now** (see the problems).\n\n" }
            if comparison.unchanged {
                return "Nothing changed: " + (comparison.manifestChanged == nil ? "the folder is" : "the folder and the manifest are") + " as \(since).\n\n"
            }
            var m = ""
            let files = comparison.fileChanges
            if !files.isEmpty {
                m += files.map { "- \(md($0))\n" }.joined() + "\n"
            } else if comparison.folderChanged {
                m += "**The folder hash differs** (the decision did not record per-file hashes).\n\n"
            } else {
                m += "The files are as \(since).\n\n"
            }
            switch comparison.manifestChanged {
            case true?: m += "**The manifest itself changed** since it was \(since) (data use, egress, secrets or another governed field).\n\n"
            case false?: m += "The manifest is as \(since).\n\n"
            case nil: m += "The decision did not record the manifest's hash.\n\n"
            }
            return m
        }

        private func problemTable(_ problems: [CatalogProblem], caption: String?) -> String {
            table(["Severity", "Where", "Field", "Problem"], problems.map {
                [$0.severity == .error ? "**error**" : "warning", md("\($0.file):\($0.line)"), md($0.field), md($0.message)]
            }, caption: caption)
        }

        // MARK: Pieces

        private func joined(_ items: [String]) -> String { items.map(md).joined(separator: ", ") }

        /// Cells are already escaped (or are this renderer's own markup).
        private func table(_ header: [String], _ rows: [[String]], caption: String? = nil) -> String {
            var m = caption.map { "\(md($0)):\n\n" } ?? ""
            m += "| " + header.map(md).joined(separator: " | ") + " |\n"
            m += "|" + header.map { _ in " --- |" }.joined() + "\n"
            for row in rows { m += "| " + row.joined(separator: " | ") + " |\n" }
            return m + "\n"
        }

        private func md(_ text: String) -> String { CatalogReport.markdownEscape(text) }
    }

    /// Backslash-escapes Markdown punctuation (pipes and backticks included, so table cells stay cells and no code span
    /// opens), and turns line breaks into `<br>` so a value stays on its table row.
    static func markdownEscape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "\\", "`", "*", "_", "[", "]", "<", ">", "|", "#", "~", "&", "!":
                out += "\\"
                out.unicodeScalars.append(scalar)
            case "\r":
                out += "<br>"
            case "\n":
                if !previousWasCR { out += "<br>" }
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
