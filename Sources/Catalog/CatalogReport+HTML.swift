import Crypto
import Foundation
import LuaRuntime

extension CatalogReport {
    /// One self-contained HTML file: inline CSS and script only, and a Content-Security-Policy that allows exactly those
    /// two (by hash) and nothing else — no network, and no other script even if an escape were ever missed.
    struct HTMLRenderer {
        let review: Review

        func render() -> String {
            let title = "Catalog review pack — \(CatalogReport.date(review.generatedAt))"
            let csp = "default-src 'none'; style-src '\(Self.cspHash(Self.style))'; script-src '\(Self.cspHash(Self.script))'; "
                + "img-src 'none'; base-uri 'none'; form-action 'none'"
            var h = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="\(csp)">
            <meta name="referrer" content="no-referrer">
            <title>\(esc(title))</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <a class="skip" href="#entries">Skip to the entries</a>
            <header>
            <h1>Catalog review pack</h1>
            <p class="meta">Generated <time datetime="\(CatalogReport.isoDate(review.generatedAt))">\(esc(CatalogReport.date(review.generatedAt)))</time> · \(esc(CatalogReport.count(review.entries.count, "entry"))) · metadata from the catalog manifests, folder hashes and plugin tests</p>
            </header>
            <main>

            """
            h += summary()
            h += openDecisions()
            h += entries()
            h += """
            </main>
            <footer><p>Each approval pins the entry's folder (sha256 over every file) and its manifest; production runs an entry only while both match. Reproduce a folder hash with <code>find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum</code> inside the folder.</p></footer>
            <script>\(Self.script)</script>
            </body>
            </html>

            """
            return h
        }

        // MARK: Summary

        private func summary() -> String {
            var h = #"<section id="summary" aria-labelledby="summary-h">"# + "\n" + #"<h2 id="summary-h">Summary</h2>"# + "\n"
            let cards: [(String, Int, Bool)] = [
                ("entries", review.entries.count, false),
                ("awaiting a decision", review.awaiting.count, !review.awaiting.isEmpty),
                ("production would refuse", review.refused.count, !review.approvedButRefused.isEmpty),
                ("with failing tests", review.failingTests.count, !review.failingTests.isEmpty),
                (review.errorCount == 1 ? "error" : "errors", review.errorCount, review.errorCount > 0),
                (review.warningCount == 1 ? "warning" : "warnings", review.warningCount, false),
            ]
            h += #"<ul class="cards">"#
            for (label, value, alarm) in cards {
                h += #"<li class="card\#(alarm ? " alarm" : "")"><span class="n">\#(value)</span> \#(esc(label))</li>"#
            }
            h += "</ul>\n"

            h += #"<table class="counts"><caption>Entries by status</caption><thead><tr>"#
            for (status, _) in review.statusCounts { h += #"<th scope="col">\#(esc(status.rawValue))</th>"# }
            h += "</tr></thead><tbody><tr>"
            for (_, count) in review.statusCounts { h += "<td>\(count)</td>" }
            h += "</tr></tbody></table>\n"

            h += "<h3>Awaiting a decision</h3>\n"
            if review.awaiting.isEmpty {
                h += "<p>No entry awaits a decision.</p>\n"
            } else {
                h += "<ul>" + review.awaiting.map { "<li>\(link($0)) — \(esc($0.manifest.owner))</li>" }.joined() + "</ul>\n"
            }

            h += "<h3>What production would refuse</h3>\n"
            if !review.approvedButRefused.isEmpty {
                h += #"<p class="alert"><strong>\#(esc(CatalogReport.count(review.approvedButRefused.count, "approved entry"))) would not run in production:</strong> "#
                    + review.approvedButRefused.map { link($0) }.joined(separator: ", ") + ".</p>\n"
            }
            if review.refused.isEmpty {
                h += #"<p class="good">Production would run every entry.</p>"# + "\n"
            } else {
                h += #"<table><caption>Entries production would refuse, and why</caption><thead><tr><th scope="col">Entry</th><th scope="col">Status</th><th scope="col">Why</th></tr></thead><tbody>"#
                for entry in review.refused {
                    h += #"<tr><th scope="row">\#(link(entry))</th><td>\#(statusBadge(entry.manifest.status))</td><td class="wrap">\#(esc(entry.refusal ?? ""))</td></tr>"#
                }
                h += "</tbody></table>\n"
            }

            h += "<h3>Catalog problems</h3>\n"
            h += "<p>\(esc(CatalogReport.count(review.errorCount, "error"))) and \(esc(CatalogReport.count(review.warningCount, "warning"))) in the catalog"
                + (review.errorCount > 0 ? "; an entry with an error runs nowhere." : ".") + "</p>\n"
            if !review.otherProblems.isEmpty {
                h += problemTable(review.otherProblems, caption: "Problems outside the loaded entries (manifests that did not load, the secret inventory)")
            }
            return h + "</section>\n"
        }

        // MARK: Open decisions

        private func openDecisions() -> String {
            var h = #"<section id="decisions" aria-labelledby="decisions-h">"# + "\n" + #"<h2 id="decisions-h">Open decisions</h2>"# + "\n"
            if review.awaiting.isEmpty { return h + "<p>No entry awaits a decision.</p>\n</section>\n" }
            for entry in review.awaiting {
                let manifest = entry.manifest
                h += #"<article class="decision" aria-labelledby="\#(entry.anchor)-decision-h">"#
                h += #"<h3 id="\#(entry.anchor)-decision-h">\#(link(entry)) <span class="kind">\#(esc(manifest.kind.rawValue))</span></h3>"#
                h += "<p>\(esc(manifest.description))</p>"
                h += #"<dl class="facts"><dt>Owner</dt><dd>\#(esc(manifest.owner))</dd><dt>Team</dt><dd>\#(esc(manifest.team))</dd>"#
                if let submitted = manifest.approvals.last(where: { $0.decision == .submitted }) {
                    h += "<dt>Submitted</dt><dd>by \(esc(submitted.reviewer)) on \(esc(CatalogReport.date(submitted.at))): “\(esc(submitted.reason))”</dd>"
                }
                h += "</dl>"
                h += "<h4>What to look at</h4><ul>" + entry.attention.map { "<li>\(esc($0))</li>" }.joined() + "</ul>"
                h += "</article>\n"
            }
            return h + "</section>\n"
        }

        // MARK: Entries

        private func entries() -> String {
            var h = #"<section id="entries" aria-labelledby="entries-h">"# + "\n" + #"<h2 id="entries-h">Entries</h2>"# + "\n"
            // Shown by the script (it does nothing without it).
            h += #"<nav class="filter" id="status-filter" aria-label="Filter entries by status" hidden><span class="label">Show:</span> "#
            h += #"<button type="button" data-filter="all" aria-pressed="true">All (\#(review.entries.count))</button> "#
            for (status, count) in review.statusCounts where count > 0 {
                h += #"<button type="button" data-filter="\#(status.rawValue)" aria-pressed="false">\#(esc(status.rawValue.capitalized)) (\#(count))</button> "#
            }
            h += "</nav>\n" + #"<p id="filter-status" class="visually-hidden" role="status" aria-live="polite"></p>"# + "\n"
            if review.entries.isEmpty { return h + "<p>The catalog has no entries.</p>\n</section>\n" }

            h += #"<table class="index"><caption>All entries</caption><thead><tr><th scope="col">Entry</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Owner</th><th scope="col">Data</th><th scope="col">Tests</th><th scope="col">Production</th></tr></thead><tbody>"#
            for entry in review.entries {
                let manifest = entry.manifest
                h += #"<tr data-status="\#(manifest.status.rawValue)"><th scope="row">\#(link(entry))</th>"#
                h += "<td>\(esc(manifest.kind.rawValue))</td><td>\(statusBadge(manifest.status))</td><td>\(esc(manifest.owner))</td>"
                h += "<td>" + (manifest.data.classes.isEmpty ? "—" : manifest.data.classes.map(dataBadge).joined(separator: " ")) + "</td>"
                h += "<td>\(testsCell(entry))</td>"
                h += "<td>" + (entry.refusal == nil ? #"<span class="good">runs</span>"# : #"<span class="bad">refused</span>"#) + "</td></tr>"
            }
            h += "</tbody></table>\n"
            for entry in review.entries { h += article(entry) }
            return h + "</section>\n"
        }

        private func article(_ entry: EntryReview) -> String {
            let manifest = entry.manifest
            let a = entry.anchor
            var h = #"<article class="entry" id="\#(a)" data-status="\#(manifest.status.rawValue)" aria-labelledby="\#(a)-h">"# + "\n"
            h += #"<h3 id="\#(a)-h">\#(esc(manifest.id)) \#(statusBadge(manifest.status))</h3>"# + "\n"
            h += #"<p class="description">\#(esc(manifest.description))</p>"# + "\n"
            if let refusal = entry.refusal {
                h += #"<p class="verdict bad"><strong>Production would refuse it:</strong> \#(esc(refusal))</p>"# + "\n"
            } else {
                h += #"<p class="verdict good"><strong>Production would run it.</strong></p>"# + "\n"
            }
            h += #"<dl class="facts"><dt>Kind</dt><dd>\#(esc(manifest.kind.rawValue))</dd><dt>Owner</dt><dd>\#(esc(manifest.owner))</dd>"#
            h += "<dt>Team</dt><dd>\(esc(manifest.team))</dd><dt>Manifest</dt><dd><code>\(esc(manifest.file))</code></dd>"
            h += "<dt>Entry</dt><dd><code>\(esc(manifest.entry))</code></dd>"
            h += "<dt>Folder sha256 now</dt><dd>" + (entry.folderSHA256.map { "<code class=\"hash\">\(esc($0))</code>" } ?? "cannot be computed (see the problems)") + "</dd></dl>\n"

            h += #"<div class="columns">"#
            h += "<section><h4>Data</h4>" + data(manifest) + "</section>"
            h += "<section><h4>Egress and secrets</h4>" + egress(manifest) + "</section>"
            h += "<section><h4>Service level</h4>" + serviceLevel(manifest) + "</section>"
            h += "<section><h4>Events and dependencies</h4>" + events(manifest) + "</section>"
            h += "</div>\n"
            h += "<h4>Tests</h4>\n" + tests(entry)
            h += "<h4>What changed since its last approval</h4>\n" + changes(entry)
            h += "<h4>Decision history</h4>\n" + history(manifest)
            h += "<h4>Catalog problems</h4>\n" + (entry.problems.isEmpty ? "<p>None.</p>\n" : problemTable(entry.problems, caption: nil))
            return h + "</article>\n"
        }

        private func data(_ manifest: Manifest) -> String {
            var h = ""
            if manifest.data.classes.isEmpty {
                h += "<p>No PHI, PII or financial data declared.</p>"
            } else {
                h += #"<p class="classes">"# + manifest.data.classes.map { dataBadge($0) + " " + esc(CatalogReport.dataClassMeaning($0)) }.joined(separator: "<br>") + "</p>"
            }
            h += "<p><strong>Fields that may leave:</strong></p>"
            h += manifest.data.fields.isEmpty
                ? (manifest.data.classes.isEmpty ? "<p>none listed</p>" : #"<p class="bad">none listed — the board cannot check data minimisation</p>"#)
                : list(manifest.data.fields, code: true)
            if !manifest.data.masked.isEmpty { h += "<p><strong>Masked in logs and errors:</strong></p>" + list(manifest.data.masked, code: true) }
            return h
        }

        private func egress(_ manifest: Manifest) -> String {
            var h = "<p><strong>May call:</strong></p>"
            h += manifest.egressOrigins.isEmpty ? "<p>nothing (no egress origins)</p>" : list(manifest.egressOrigins, code: true)
            h += "<p><strong>Secrets:</strong></p>"
            if manifest.secrets.isEmpty { return h + "<p>none</p>" }
            return h + "<ul>" + manifest.secrets.map { name in
                "<li><code>\(esc(name))</code>" + (review.secretOwners[name].map { " — provided by \(esc($0))" } ?? #" — <span class="bad">not in the secret inventory</span>"#) + "</li>"
            }.joined() + "</ul>"
        }

        private func serviceLevel(_ manifest: Manifest) -> String {
            guard let sla = manifest.sla else { return #"<p class="bad">No SLA declared.</p>"# }
            let rows: [(String, String?)] = [
                ("Latency p95", sla.latencyP95Milliseconds.map(CatalogReport.milliseconds)),
                ("Max delivery delay", sla.maxDeliveryDelaySeconds.map(CatalogReport.seconds)),
                ("Availability", sla.availability.map(CatalogReport.percent)),
                ("Retry", sla.retry.map(CatalogReport.retry)),
            ]
            return #"<table class="sla"><tbody>"# + rows.map { label, value in
                #"<tr><th scope="row">\#(esc(label))</th><td>\#(value.map(esc) ?? #"<span class="muted">not set</span>"#)</td></tr>"#
            }.joined() + "</tbody></table>"
        }

        private func events(_ manifest: Manifest) -> String {
            var h = "<p><strong>Consumes:</strong></p>" + (manifest.events.consumes.isEmpty ? "<p>none</p>" : list(manifest.events.consumes, code: true))
            h += "<p><strong>Produces:</strong></p>" + (manifest.events.produces.isEmpty ? "<p>none</p>" : list(manifest.events.produces, code: true))
            h += "<p><strong>Depends on:</strong></p>" + (manifest.dependsOn.isEmpty ? "<p>nothing</p>" : list(manifest.dependsOn.map(\.description), code: true))
            return h
        }

        private func tests(_ entry: EntryReview) -> String {
            guard let report = entry.tests else {
                return entry.manifest.kind == .flow ? "<p>A flow has no Lua tests of its own; its plugins' tests apply.</p>\n" : #"<p class="muted">Not run for this report.</p>"# + "\n"
            }
            var h = "<p>" + #"<span class="badge \#(report.failed > 0 ? "bad" : "good")">\#(esc(CatalogReport.testSummary(report)))</span>"# + "</p>\n"
            let failures = report.results.filter { $0.status == .failed }
            if !failures.isEmpty {
                h += #"<table class="failures"><caption>Failing tests</caption><thead><tr><th scope="col">Test</th><th scope="col">Location</th><th scope="col">Message</th></tr></thead><tbody>"#
                for failure in failures {
                    h += "<tr><td>\(esc(failure.name))</td><td><code>\(esc(failure.location.map(review.relative) ?? "—"))</code></td><td><pre>\(esc(failure.message ?? "failed"))</pre></td></tr>"
                }
                h += "</tbody></table>\n"
            }
            let pending = report.results.filter { $0.status == .pending }
            if !pending.isEmpty { h += "<p><strong>Pending:</strong></p>" + list(pending.map(\.name), code: false) + "\n" }
            return h
        }

        private func changes(_ entry: EntryReview) -> String {
            var h = ""
            switch entry.sinceApproval {
            case .neverApproved:
                h += "<p>Never approved: there is no earlier approval to compare with.</p>\n"
            case .compared(let comparison):
                h += "<p>Last approved on \(esc(CatalogReport.date(comparison.decision.at))) by \(esc(comparison.decision.reviewer)).</p>\n"
                h += comparisonDetail(comparison, hashMissing: entry.hashMissing, since: "approved")
            }
            if let submission = entry.sinceSubmission {
                h += "<p>Since it was submitted on \(esc(CatalogReport.date(submission.decision.at))) by \(esc(submission.decision.reviewer)):</p>\n"
                h += comparisonDetail(submission, hashMissing: entry.hashMissing, since: "submitted")
            }
            return h
        }

        private func comparisonDetail(_ comparison: Comparison, hashMissing: Bool, since: String) -> String {
            if hashMissing { return #"<p class="bad">The folder cannot be hashed now (see the problems).</p>"# + "\n" }
            if comparison.unchanged {
                return #"<p class="good">Nothing changed: "# + (comparison.manifestChanged == nil ? "the folder is" : "the folder and the manifest are") + " as \(since).</p>\n"
            }
            var h = ""
            let files = comparison.fileChanges
            if !files.isEmpty {
                h += #"<ul class="changes">"# + files.map { #"<li class="\#($0.split(separator: " ").first ?? "")">\#(esc($0))</li>"# }.joined() + "</ul>\n"
            } else if comparison.folderChanged {
                h += #"<p class="bad">The folder hash differs (the decision did not record per-file hashes).</p>"# + "\n"
            } else {
                h += "<p>The files are as \(since).</p>\n"
            }
            switch comparison.manifestChanged {
            case true?: h += #"<p class="bad">The manifest itself changed since it was \#(since) (data use, egress, secrets or another governed field).</p>"# + "\n"
            case false?: h += "<p>The manifest is as \(since).</p>\n"
            case nil: h += #"<p class="muted">The decision did not record the manifest's hash.</p>"# + "\n"
            }
            return h
        }

        private func history(_ manifest: Manifest) -> String {
            if manifest.approvals.isEmpty { return "<p>No decision yet.</p>\n" }
            var h = #"<table class="history"><thead><tr><th scope="col">When</th><th scope="col">Decision</th><th scope="col">Who</th><th scope="col">Reason</th><th scope="col">Folder sha256</th></tr></thead><tbody>"#
            for decision in manifest.approvals {
                h += #"<tr><td><time datetime="\#(CatalogReport.isoDate(decision.at))">\#(esc(CatalogReport.date(decision.at)))</time></td>"#
                h += "<td>\(esc(decision.decision.rawValue))</td><td>\(esc(decision.reviewer))</td><td class=\"wrap\">\(esc(decision.reason))</td>"
                h += #"<td><code title="\#(esc(decision.sha256))">\#(esc(CatalogReport.shortHash(decision.sha256)))…</code></td></tr>"#
            }
            return h + "</tbody></table>\n"
        }

        private func problemTable(_ problems: [CatalogProblem], caption: String?) -> String {
            var h = #"<table class="problems">"# + (caption.map { "<caption>\(esc($0))</caption>" } ?? "")
            h += #"<thead><tr><th scope="col">Severity</th><th scope="col">Where</th><th scope="col">Field</th><th scope="col">Problem</th></tr></thead><tbody>"#
            for problem in problems {
                h += #"<tr><td><span class="badge \#(problem.severity == .error ? "bad" : "warn")">\#(problem.severity.rawValue)</span></td>"#
                h += "<td><code>\(esc(problem.file)):\(problem.line)</code></td><td><code>\(esc(problem.field))</code></td><td class=\"wrap\">\(esc(problem.message))</td></tr>"
            }
            return h + "</tbody></table>\n"
        }

        // MARK: Pieces

        private func link(_ entry: EntryReview) -> String {
            "<a href=\"#\(entry.anchor)\">\(esc(entry.manifest.id))</a>"
        }

        private func list(_ items: [String], code: Bool) -> String {
            "<ul>" + items.map { code ? "<li><code>\(esc($0))</code></li>" : "<li>\(esc($0))</li>" }.joined() + "</ul>"
        }

        private func statusBadge(_ status: Manifest.Status) -> String {
            #"<span class="badge status status-\#(status.rawValue)">\#(status.rawValue)</span>"#
        }

        private func dataBadge(_ dataClass: Manifest.DataClass) -> String {
            #"<span class="badge dc dc-\#(dataClass.rawValue)" title="\#(esc(CatalogReport.dataClassMeaning(dataClass)))">\#(esc(CatalogReport.dataClassLabel(dataClass)))</span>"#
        }

        private func testsCell(_ entry: EntryReview) -> String {
            guard let report = entry.tests else { return entry.manifest.kind == .flow ? "—" : #"<span class="muted">not run</span>"# }
            if report.failed > 0 { return #"<span class="bad">\#(report.failed) failed</span> / \#(report.results.count)"# }
            return #"<span class="good">\#(report.passed) passed</span>"# + (report.pending > 0 ? ", \(report.pending) pending" : "")
        }

        private func esc(_ text: String) -> String { CatalogReport.htmlEscape(text) }

        static func cspHash(_ text: String) -> String {
            "sha256-" + Data(SHA256.hash(data: Data(text.utf8))).base64EncodedString()
        }

        // MARK: Style and script

        static let style = """

        :root{--fg:#1b1f24;--muted:#59636e;--line:#d0d7de;--head:#f3f5f7;--accent:#0b5cad;--good:#1a6b32;--good-bg:#e3f4e8;--bad:#9b1c1c;--bad-bg:#fde8e8;--warn:#7a4a00;--warn-bg:#fff1d6}
        *{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%}
        body{margin:0;font:15px/1.5 "DejaVu Sans",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
        header,main,footer{max-width:74rem;margin:0 auto;padding:0 1.5rem}
        header{padding-top:1rem}
        h1{font-size:1.8rem;margin:.5rem 0 .25rem}
        h2{font-size:1.4rem;margin:2.5rem 0 .75rem;padding-bottom:.25rem;border-bottom:2px solid var(--line)}
        h3{font-size:1.15rem;margin:1.25rem 0 .5rem}
        h4{font-size:1rem;margin:1.25rem 0 .4rem}
        p{margin:.35rem 0}
        a{color:var(--accent)}
        .meta,.muted{color:var(--muted)}
        .skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem}
        .skip:focus{left:.5rem}
        code,pre{font-family:"DejaVu Sans Mono",ui-monospace,Menlo,Consolas,monospace;font-size:.86em}
        code{overflow-wrap:anywhere}
        pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
        table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.92rem}
        caption{text-align:left;font-weight:600;padding:.25rem 0}
        th,td{border:1px solid var(--line);padding:.35rem .55rem;text-align:left;vertical-align:top}
        thead th,tbody th[scope=row]{background:var(--head)}
        .wrap{overflow-wrap:anywhere}
        table.counts{width:auto}
        table.counts td{text-align:center;font-weight:600}
        table.sla{width:auto}
        table.sla th{white-space:nowrap}
        .cards{display:flex;flex-wrap:wrap;gap:.75rem;list-style:none;padding:0;margin:.5rem 0 1rem}
        .card{border:1px solid var(--line);border-radius:8px;padding:.5rem .9rem;min-width:9.5rem;color:var(--muted)}
        .card .n{display:block;font-size:1.7rem;font-weight:700;color:var(--fg);line-height:1.2}
        .card.alarm{border-color:var(--bad);background:var(--bad-bg)}
        .card.alarm .n{color:var(--bad)}
        .badge{display:inline-block;padding:0 .5rem;border-radius:999px;font-size:.78rem;font-weight:700;line-height:1.6;border:1px solid currentColor;vertical-align:middle;white-space:nowrap}
        .badge.good{color:var(--good);background:var(--good-bg)}
        .badge.bad{color:var(--bad);background:var(--bad-bg)}
        .badge.warn{color:var(--warn);background:var(--warn-bg)}
        .status-draft{color:#4b5563;background:#eef0f2}
        .status-submitted{color:var(--warn);background:var(--warn-bg)}
        .status-approved{color:var(--good);background:var(--good-bg)}
        .status-rejected{color:var(--bad);background:var(--bad-bg)}
        .status-deprecated{color:#5b3a8c;background:#efe8fa}
        .status-retired{color:#fff;background:#4b5563;border-color:#4b5563}
        .dc-phi{color:#fff;background:var(--bad);border-color:var(--bad)}
        .dc-pii{color:var(--warn);background:var(--warn-bg)}
        .dc-financial{color:#0b4f6c;background:#e0f0fa}
        .good{color:var(--good)}
        .bad{color:var(--bad)}
        .alert{background:var(--bad-bg);border-left:4px solid var(--bad);padding:.5rem .75rem}
        .verdict{padding:.4rem .75rem;border-left:4px solid currentColor;overflow-wrap:anywhere}
        .verdict.good{background:var(--good-bg)}
        .verdict.bad{background:var(--bad-bg)}
        .kind{font-size:.85rem;font-weight:400;color:var(--muted)}
        .decision,.entry{border:1px solid var(--line);border-radius:8px;padding:.25rem 1.25rem 1rem;margin:1rem 0}
        .entry{margin:1.5rem 0}
        [id]{scroll-margin-top:3.5rem}
        .entry>h3{font-size:1.3rem}
        .description{font-size:1.02rem}
        .facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.75rem 0}
        .facts dt{font-weight:600;color:var(--muted)}
        .facts dd{margin:0;overflow-wrap:anywhere}
        .columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:0 2rem}
        .columns ul{margin:.2rem 0 .5rem;padding-left:1.2rem}
        .changes li.modified::marker{content:"~ "}
        .changes li.added::marker{content:"+ "}
        .changes li.removed::marker{content:"− "}
        .changes li{color:var(--bad)}
        nav.filter{position:sticky;top:0;z-index:1;background:#fff;padding:.5rem 0;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
        nav.filter .label{font-weight:600;margin-right:.25rem}
        nav.filter button{font:inherit;font-size:.9rem;padding:.15rem .75rem;border:1px solid var(--line);border-radius:999px;background:#fff;color:var(--fg);cursor:pointer}
        nav.filter button[aria-pressed=true]{background:var(--accent);border-color:var(--accent);color:#fff}
        button:focus-visible,a:focus-visible{outline:3px solid #e8a317;outline-offset:2px}
        .visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        [hidden]{display:none!important}
        footer{margin:2rem auto;color:var(--muted);font-size:.85rem;border-top:1px solid var(--line);padding-top:.75rem}
        @media print{
        @page{margin:14mm}
        body{font-size:10pt}
        header,main,footer{max-width:none;padding:0}
        nav.filter,.skip{display:none!important}
        a{color:inherit;text-decoration:none}
        *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
        .entry{break-before:page;border:0;border-top:2px solid #000;border-radius:0;padding:0}
        .decision{break-inside:avoid}
        h2,h3,h4{break-after:avoid}
        tr,.card,.facts{break-inside:avoid}
        }

        """

        /// Shows the status filter and applies it (also from `#status=NAME` in the address). Logs nothing, touches nothing
        /// outside the page.
        static let script = """

        (function () {
          "use strict";
          var nav = document.getElementById("status-filter");
          if (!nav) { return; }
          var buttons = Array.prototype.slice.call(nav.querySelectorAll("button[data-filter]"));
          var items = Array.prototype.slice.call(document.querySelectorAll("#entries [data-status]"));
          var live = document.getElementById("filter-status");
          function apply(status) {
            var shown = 0;
            items.forEach(function (item) {
              var match = status === "all" || item.getAttribute("data-status") === status;
              item.hidden = !match;
              if (match && item.tagName === "ARTICLE") { shown += 1; }
            });
            buttons.forEach(function (button) {
              button.setAttribute("aria-pressed", button.getAttribute("data-filter") === status ? "true" : "false");
            });
            if (live) {
              live.textContent = status === "all" ? "Showing all entries" : "Showing " + shown + " " + status + (shown === 1 ? " entry" : " entries");
            }
          }
          buttons.forEach(function (button) {
            button.addEventListener("click", function () { apply(button.getAttribute("data-filter")); });
          });
          var wanted = /^#status=([a-z]+)$/.exec(window.location.hash);
          var initial = "all";
          if (wanted && buttons.some(function (button) { return button.getAttribute("data-filter") === wanted[1]; })) { initial = wanted[1]; }
          nav.hidden = false;
          apply(initial);
        })();

        """
    }

    /// HTML-escapes text for element content and quoted attributes: & < > " '.
    static func htmlEscape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
