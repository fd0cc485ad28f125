import Foundation
import LuaRuntime

/// The governance board's review pack: the catalog as a page a board member would rather read than the YAML. A
/// summary (entries by status, what awaits a decision, what production would refuse and why, problem counts), the
/// open decisions with what to look at, then every entry — owner, data, egress, secrets, SLA, events, dependencies,
/// test results, what changed since its last approval, its decision history and its problems.
///
/// Everything shown comes from manifests, folder hashes and test reports — metadata only, never a payload — and every
/// manifest-supplied text is escaped for the format (HTML entities; Markdown punctuation and table pipes).
public enum CatalogReport {
    public enum Format: String, Sendable, CaseIterable { case html, md }

    /// tests: by entry id ("name@version"), the Lua test results of that entry (absent = not run, e.g. flows).
    public static func render(_ catalog: Catalog, tests: [String: PluginTestRunner.Report], format: Format, generatedAt: Date) -> String {
        let review = Review(catalog, tests: tests, generatedAt: generatedAt)
        switch format {
        case .html: return HTMLRenderer(review: review).render()
        case .md: return MarkdownRenderer(review: review).render()
        }
    }
}

// MARK: - What both formats show

extension CatalogReport {
    /// How an entry's folder and manifest compare with a decision's record of them.
    struct Comparison {
        let decision: Manifest.Decision
        let added: [String]
        let removed: [String]
        let modified: [String]
        /// The folder hash differs from the decision's (true even when the decision kept no per-file hashes).
        let folderChanged: Bool
        /// The decision recorded per-file hashes, so the lists above mean something.
        let filesRecorded: Bool
        /// nil: the decision did not record the manifest's hash.
        let manifestChanged: Bool?

        var unchanged: Bool { !folderChanged && manifestChanged != true }

        /// `modified plugin.lua`, `added spec/new_spec.lua`, … in that order.
        var fileChanges: [String] {
            modified.map { "modified \($0)" } + added.map { "added \($0)" } + removed.map { "removed \($0)" }
        }

        init(_ decision: Manifest.Decision, manifest: Manifest, now: FolderHash?) {
            self.decision = decision
            filesRecorded = !decision.files.isEmpty
            if let now, filesRecorded {
                (added, removed, modified) = now.changes(since: decision.files)
            } else {
                (added, removed, modified) = ([], [], [])
            }
            folderChanged = now.map { $0.sha256 != decision.sha256 } ?? true
            manifestChanged = decision.manifestSHA256.map { $0 != manifest.contentSHA256 }
        }
    }

    enum SinceApproval {
        case neverApproved
        case compared(Comparison)
    }

    struct EntryReview {
        let manifest: Manifest
        /// An anchor unique in the page.
        let anchor: String
        /// Why production would not run it; nil: it would.
        let refusal: String?
        let tests: PluginTestRunner.Report?
        /// The folder's sha256 now; nil when it cannot be computed (missing folder, symbolic link: see the problems).
        let folderSHA256: String?
        let sinceApproval: SinceApproval
        /// For a submitted entry: how the folder compares with what was submitted.
        let sinceSubmission: Comparison?
        let problems: [CatalogProblem]
        /// For a reviewer deciding on it: the points worth a look, most pressing first.
        var attention: [String] = []

        var hashMissing: Bool { folderSHA256 == nil }
        var errors: [CatalogProblem] { problems.filter { $0.severity == .error } }
        var warnings: [CatalogProblem] { problems.filter { $0.severity == .warning } }
        var lastApproval: Manifest.Decision? { manifest.approvals.last { $0.decision == .approved } }
    }

    struct Review {
        let generatedAt: Date
        let entries: [EntryReview]
        let statusCounts: [(status: Manifest.Status, count: Int)]
        let errorCount: Int
        let warningCount: Int
        /// Problems of manifests that did not load, and of files that are not entries (the secret inventory).
        let otherProblems: [CatalogProblem]
        let secretOwners: [String: String]
        /// Prefixes stripped from test locations, so paths read relative to the project like the manifests' own.
        let projectPrefixes: [String]

        func relative(_ location: String) -> String {
            for prefix in projectPrefixes where location.hasPrefix(prefix) { return String(location.dropFirst(prefix.count)) }
            return location
        }

        var awaiting: [EntryReview] { entries.filter { $0.manifest.status == .submitted } }
        var refused: [EntryReview] { entries.filter { $0.refusal != nil } }
        /// Entries that are approved (or deprecated) and still would not run: what the board should worry about first.
        var approvedButRefused: [EntryReview] {
            entries.filter { $0.refusal != nil && ($0.manifest.status == .approved || $0.manifest.status == .deprecated) }
        }
        var failingTests: [EntryReview] { entries.filter { ($0.tests?.failed ?? 0) > 0 } }

        init(_ catalog: Catalog, tests: [String: PluginTestRunner.Report], generatedAt: Date) {
            self.generatedAt = generatedAt
            let sorted = catalog.entries.sorted { ($0.name, $0.version) < ($1.name, $1.version) }
            let loaded = Set(sorted.map(\.id))
            var anchors = Set<String>()
            entries = sorted.map { manifest in
                var anchor = "entry-" + CatalogReport.slug(manifest.id)
                var suffix = 2
                while anchors.contains(anchor) { anchor = "entry-\(CatalogReport.slug(manifest.id))-\(suffix)"; suffix += 1 }
                anchors.insert(anchor)
                let now = catalog.hashes[manifest.id]
                let since: SinceApproval = manifest.approvals.last { $0.decision == .approved }
                    .map { .compared(Comparison($0, manifest: manifest, now: now)) } ?? .neverApproved
                var submission: Comparison?
                if manifest.status == .submitted, let submitted = manifest.approvals.last(where: { $0.decision == .submitted }) {
                    submission = Comparison(submitted, manifest: manifest, now: now)
                }
                let problems = catalog.problems.filter { $0.entry == manifest.id }
                    .sorted { ($0.severity == .error ? 0 : 1, $0.file, $0.line) < ($1.severity == .error ? 0 : 1, $1.file, $1.line) }
                var review = EntryReview(manifest: manifest, anchor: anchor, refusal: catalog.refusal(of: manifest, in: .production),
                                         tests: tests[manifest.id], folderSHA256: now?.sha256, sinceApproval: since,
                                         sinceSubmission: submission, problems: problems)
                review.attention = CatalogReport.attention(review)
                return review
            }
            statusCounts = Manifest.Status.allCases.map { status in (status, sorted.filter { $0.status == status }.count) }
            errorCount = catalog.errors.count
            warningCount = catalog.warnings.count
            otherProblems = catalog.problems.filter { $0.entry.map { !loaded.contains($0) } ?? true }
                .sorted { ($0.file, $0.severity == .error ? 0 : 1, $0.line, $0.field) < ($1.file, $1.severity == .error ? 0 : 1, $1.line, $1.field) }
            let root = catalog.projectRoot.standardizedFileURL
            projectPrefixes = Array(Set([root.path, root.resolvingSymlinksInPath().path].map { $0.hasSuffix("/") ? $0 : $0 + "/" }))
                .sorted { $0.count > $1.count }
            secretOwners = Dictionary(catalog.secrets.map { ($0.name, $0.owner) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// What a reviewer deciding on the entry should look at, in plain sentences (renderers escape them).
    static func attention(_ entry: EntryReview) -> [String] {
        let manifest = entry.manifest
        var points: [String] = []
        if !entry.errors.isEmpty {
            points.append("\(count(entry.errors.count, "catalog error")): approval is blocked until \(entry.errors.count == 1 ? "it is" : "they are") fixed")
        }
        if let submission = entry.sinceSubmission, !submission.unchanged {
            var what = submission.fileChanges
            if submission.folderChanged && what.isEmpty { what.append("the folder hash differs") }
            if submission.manifestChanged == true { what.append("the manifest changed") }
            points.append("Changed after it was submitted (\(what.joined(separator: ", "))): the review would not cover what runs")
        }
        if let tests = entry.tests {
            let total = tests.results.count
            if tests.failed > 0 {
                points.append("\(tests.failed) of \(count(total, "test")) fail")
            } else if total == 0 {
                points.append("No tests ran")
            } else if tests.passed == 0 {
                points.append("No test passes yet: \(count(tests.pending, "test")) pending")
            } else {
                points.append((tests.passed == 1 ? "Its 1 test passes" : "All \(tests.passed) tests pass") + (tests.pending > 0 ? " (\(tests.pending) pending)" : ""))
            }
        } else if manifest.kind != .flow {
            points.append("Tests were not run for this report")
        }
        switch entry.sinceApproval {
        case .neverApproved:
            points.append("Never approved: review the whole entry")
        case .compared(let comparison):
            if comparison.unchanged {
                points.append("Unchanged since its approval on \(date(comparison.decision.at)) by \(comparison.decision.reviewer)")
            } else {
                var what = comparison.fileChanges
                if comparison.folderChanged && what.isEmpty { what.append("the folder hash differs") }
                if comparison.manifestChanged == true { what.append("the manifest changed") }
                points.append("Changed since its approval on \(date(comparison.decision.at)): \(what.joined(separator: ", "))")
            }
        }
        let sensitive = manifest.data.classes.map(dataClassLabel)
        if !sensitive.isEmpty {
            let fields = manifest.data.fields
            points.append("Handles \(sensitive.joined(separator: ", ")): "
                          + (fields.isEmpty ? "no list of the fields that may leave" : "\(count(fields.count, "field")) may leave (\(fields.joined(separator: ", ")))"))
        }
        if manifest.egressOrigins.isEmpty {
            points.append(manifest.kind == .connector ? "No egress origins: it can call nothing" : "Makes no outbound calls")
        } else {
            points.append("Sends to \(manifest.egressOrigins.joined(separator: ", "))")
        }
        if !manifest.secrets.isEmpty { points.append("Uses \(count(manifest.secrets.count, "secret")): \(manifest.secrets.joined(separator: ", "))") }
        if manifest.sla == nil { points.append("No SLA declared") }
        if !entry.warnings.isEmpty { points.append(count(entry.warnings.count, "warning")) }
        return points
    }

    // MARK: Formatting shared by both formats

    static func count(_ n: Int, _ noun: String) -> String {
        if n == 1 { return "1 \(noun)" }
        return noun.hasSuffix("y") && !noun.hasSuffix("ey") ? "\(n) \(noun.dropLast())ies" : "\(n) \(noun)s"
    }

    static func dataClassLabel(_ dataClass: Manifest.DataClass) -> String {
        switch dataClass {
        case .phi: "PHI"
        case .pii: "PII"
        case .financial: "financial"
        }
    }

    static func dataClassMeaning(_ dataClass: Manifest.DataClass) -> String {
        switch dataClass {
        case .phi: "protected health information"
        case .pii: "personally identifiable information"
        case .financial: "financial data"
        }
    }

    private static let dateFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter
    }()

    static func date(_ date: Date) -> String { dateFormatter.string(from: date) }

    static func isoDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func milliseconds(_ value: Int) -> String {
        if value < 1000 { return "\(value) ms" }
        if value % 1000 == 0 { return seconds(value / 1000) }
        return String(format: "%.1f s", Double(value) / 1000)
    }

    static func seconds(_ value: Int) -> String {
        if value >= 86_400 && value % 86_400 == 0 { return "\(value / 86_400) d" }
        if value >= 3600 && value % 3600 == 0 { return "\(value / 3600) h" }
        if value >= 60 && value % 60 == 0 { return "\(value / 60) min" }
        return "\(value) s"
    }

    static func percent(_ value: Double) -> String { String(format: "%g", value) + " %" }

    static func retry(_ retry: Manifest.RetryPolicy) -> String {
        var text = "up to \(count(retry.maxAttempts, "attempt"))"
        switch (retry.baseDelayMilliseconds, retry.maxDelayMilliseconds) {
        case let (base?, max?): text += ", backoff from \(milliseconds(base)) to \(milliseconds(max))"
        case let (base?, nil): text += ", backoff from \(milliseconds(base))"
        case let (nil, max?): text += ", backoff up to \(milliseconds(max))"
        case (nil, nil): break
        }
        return text
    }

    static func testSummary(_ report: PluginTestRunner.Report) -> String {
        "\(report.passed) passed, \(report.failed) failed, \(report.pending) pending"
    }

    /// An id made of lower-case letters, digits and '-' only (safe in an attribute and a URL fragment).
    static func slug(_ text: String) -> String {
        var out = ""
        for scalar in text.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) { out.unicodeScalars.append(scalar) } else if !out.hasSuffix("-") { out += "-" }
        }
        return out
    }

    static func shortHash(_ hash: String) -> String { String(hash.prefix(12)) }
}
