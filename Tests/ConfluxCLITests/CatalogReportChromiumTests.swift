import Catalog
import Foundation
import Logging
import LuaRuntime
import Testing

/// The board's HTML review pack in a real browser: headless Chromium loads the file, runs its script and takes a
/// screenshot; the page must render, and neither the report's own script nor anything from a manifest may log to the
/// console (Chromium prints page console messages on stderr as `…:INFO:CONSOLE:N] "message", source: URL (line)`).
///
/// Set CONFLUX_KEEP_REPORT=DIR to keep the page and the screenshot for a look.
@Suite(.serialized) struct CatalogReportChromiumTests {
    static let chromium = "/usr/bin/chromium"

    @Test func reviewPackRendersInHeadlessChromiumWithoutConsoleErrors() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.chromium) else {
            Issue.record("Chromium is not installed at \(Self.chromium): run scripts/install-system-packages (it installs chromium and fonts-dejavu-core)")
            return
        }
        let scratch = try ScratchFolder()
        let html = try await Self.renderReviewPack(in: scratch.url.appendingPathComponent("project"))
        // What a broken escape would let through must not be there; the browser run below would also catch it.
        #expect(!html.contains("<script>console.error"))
        let page = scratch.url.appendingPathComponent("review-pack.html")
        try Data(html.utf8).write(to: page)
        let png = scratch.url.appendingPathComponent("review-pack.png")

        let shot = try Self.runChromium(["--screenshot=\(png.path)", "--window-size=1280,2400"], url: page.absoluteString, scratch: scratch.url)
        #expect(shot.status == 0, "chromium exited with \(shot.status):\n\(shot.stderr)")
        #expect(Self.consoleLines(shot.stderr).isEmpty, "console messages:\n\(Self.consoleLines(shot.stderr).joined(separator: "\n"))")
        let image = try Data(contentsOf: png)
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "not a PNG")
        #expect(image.count > 20_000, "a screenshot of \(image.count) bytes is too small for a rendered page")
        // 1280 × 2400 as asked (the IHDR chunk: width and height, big-endian, at bytes 16…23).
        #expect(image.count > 24 && Self.bigEndian(image, at: 16) == 1280 && Self.bigEndian(image, at: 20) == 2400)

        // The status filter, applied from the address: the script ran, showed the buttons and hid the other entries.
        let dom = try Self.runChromium(["--dump-dom"], url: page.absoluteString + "#status=submitted", scratch: scratch.url)
        #expect(dom.status == 0, "chromium exited with \(dom.status):\n\(dom.stderr)")
        #expect(Self.consoleLines(dom.stderr).isEmpty, "console messages:\n\(Self.consoleLines(dom.stderr).joined(separator: "\n"))")
        #expect(dom.stdout.contains(#"<nav class="filter" id="status-filter" aria-label="Filter entries by status">"#), "the filter is not shown")
        #expect(dom.stdout.contains(#"<button type="button" data-filter="submitted" aria-pressed="true">"#))
        #expect(dom.stdout.contains(#"<button type="button" data-filter="all" aria-pressed="false">"#))
        #expect(dom.stdout.contains(#"<article class="entry" id="entry-patient-intake-0-2-0" data-status="submitted" aria-labelledby="entry-patient-intake-0-2-0-h">"#))
        #expect(dom.stdout.contains(#"<article class="entry" id="entry-appointment-invoice-1-0-0" data-status="approved" aria-labelledby="entry-appointment-invoice-1-0-0-h" hidden="">"#))
        #expect(dom.stdout.contains(#"<tr data-status="approved" hidden="">"#))
        #expect(dom.stdout.contains(#"<p id="filter-status" class="visually-hidden" role="status" aria-live="polite">Showing 1 submitted entry</p>"#))
        // The manifest's markup stayed text.
        #expect(dom.stdout.contains("&lt;script&gt;console.error(\"injected\")&lt;/script&gt;"))

        if let keep = ProcessInfo.processInfo.environment["CONFLUX_KEEP_REPORT"] {
            let folder = URL(fileURLWithPath: keep)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for file in [page, png] {
                let target = folder.appendingPathComponent(file.lastPathComponent)
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: file, to: target)
            }
        }
    }

    /// The check above is only worth something if it sees console output in this Chromium's format: a page that logs
    /// an error and throws must be caught.
    @Test func consoleCheckCatchesAPageThatLogsAndThrows() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.chromium) else {
            Issue.record("Chromium is not installed at \(Self.chromium): run scripts/install-system-packages (it installs chromium and fonts-dejavu-core)")
            return
        }
        let scratch = try ScratchFolder()
        let page = scratch.url.appendingPathComponent("bad.html")
        try Data(#"<!DOCTYPE html><html lang="en"><title>bad</title><p>x</p><script>console.error("deliberate"); missing();</script></html>"#.utf8)
            .write(to: page)
        let png = scratch.url.appendingPathComponent("bad.png")
        let run = try Self.runChromium(["--screenshot=\(png.path)", "--window-size=400,300"], url: page.absoluteString, scratch: scratch.url)
        let lines = Self.consoleLines(run.stderr)
        #expect(lines.contains { $0.contains("deliberate") }, "\(run.stderr)")
        #expect(lines.contains { $0.contains("Uncaught ReferenceError") }, "\(run.stderr)")
    }

    // MARK: The page

    /// A small project on disk: an approved mapping edited after its approval (with a failing Lua test), a submitted
    /// source whose description carries markup, a draft connector; loaded by the catalog and rendered.
    static func renderReviewPack(in root: URL) async throws -> String {
        func write(_ path: String, _ text: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try write("catalog/secrets.yaml", "secrets:\n  - {name: odoo/api_key, owner: Finance IT <finance-it@clinic.example>}\n")
        let invoice = """
            local M = { kind = "mapping" }
            function M.map(event, ctx) return { model = "account.move", external_id = "inv_" .. event.id, values = { total = event.total } } end
            return M

            """
        try write("plugins/appointment-invoice/plugin.lua", invoice)
        try write("plugins/appointment-invoice/spec/x_spec.lua", """
            local plugin = require("plugin")
            describe("appointment-invoice", function()
              it("keys the invoice by the event id", function() assert.are.equal("inv_1", plugin.map({ id = "1" }, {}).external_id) end)
              it("bills in cents", function() assert.are.equal(5550, plugin.map({ id = "1", total = 55.5 }, {}).values.total) end)
              pending("credit notes")
            end)

            """)
        try write("plugins/patient-intake/plugin.lua", "local M = { kind = \"source\" }\nfunction M.decode() return {} end\nreturn M\n")
        try write("plugins/patient-intake/spec/x_spec.lua", "describe('intake', function() it('decodes', function() end) end)\n")
        try write("plugins/odoo-connector/plugin.lua", "local M = { kind = \"connector\" }\nfunction M.deliver() return {} end\nreturn M\n")
        try write("plugins/odoo-connector/spec/x_spec.lua", "describe('connector', function() it('delivers', function() end) end)\n")
        let invoiceManifest = """
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
            status: approved

            """
        try write("catalog/appointment-invoice-1.0.0.yaml", invoiceManifest)
        try write("catalog/patient-intake-0.2.0.yaml", """
            name: patient-intake
            kind: source
            version: 0.2.0
            owner: Ops | Intake <intake@clinic.example>
            team: Front desk
            description: "Intake forms <script>console.error(\\"injected\\")</script><img src=x onerror=\\"console.error('img')\\"> & 'quotes'"
            entry: plugins/patient-intake
            data: {classes: [pii], fields: [patient.mrn, patient.name]}
            egress: [https://intake.clinic.example]
            events: {produces: [appointment.completed]}
            status: submitted
            approvals:
              - decision: submitted
                reviewer: Ops <intake@clinic.example>
                at: 2026-11-10T09:00:00Z
                reason: "ready <b>for</b> review"
                sha256: \(String(repeating: "0", count: 64))

            """)
        try write("catalog/odoo-connector-1.2.0.yaml", """
            name: odoo-connector
            kind: connector
            version: 1.2.0
            owner: Finance IT <finance-it@clinic.example>
            team: Finance IT
            description: Delivers invoices to Odoo.
            entry: plugins/odoo-connector
            egress: [https://odoo.clinic.example]
            secrets: [odoo/api_key]
            depends_on: [appointment-invoice@^1.0]
            status: draft

            """)

        // Approve the invoice as it is now (folder and manifest hashes), then edit its plugin.
        let before = Catalog.load(projectRoot: root)
        let approved = try #require(before.entry(id: "appointment-invoice@1.0.0"))
        let hash = try FolderHash.of(before.entryURL(approved))
        let files = hash.files.keys.sorted().map { "      \"\($0)\": \(hash.files[$0]!)" }.joined(separator: "\n")
        try write("catalog/appointment-invoice-1.0.0.yaml", invoiceManifest + """
            approvals:
              - decision: approved
                reviewer: Board Reviewer <board@clinic.example>
                at: 2026-11-12T14:30:00Z
                reason: "fine <i>by</i> me"
                sha256: \(hash.sha256)
                manifest_sha256: \(approved.contentSHA256)
                files:
            \(files)

            """)
        try write("plugins/appointment-invoice/plugin.lua", invoice + "-- edited after approval\n")

        let catalog = Catalog.load(projectRoot: root)
        #expect(catalog.entries.count == 3, "\(catalog.problems)")
        let limits = try SandboxProfile.load(named: "dev", from: ConfluxBinary.repositoryRoot.appendingPathComponent("sandbox/profiles")).limits
        var tests: [String: PluginTestRunner.Report] = [:]
        for manifest in catalog.entries where manifest.kind != .flow {
            tests[manifest.id] = await PluginTestRunner.run(Plugin(name: manifest.id, folder: catalog.entryURL(manifest)), limits: limits,
                                                            logger: Logger(label: "conflux.tests.catalog-report"))
        }
        #expect(tests["appointment-invoice@1.0.0"]?.failed == 1)
        let html = CatalogReport.render(catalog, tests: tests, format: .html, generatedAt: Date(timeIntervalSince1970: 1_794_990_360))
        #expect(html.contains(#"<li class="modified">modified plugin.lua</li>"#))
        return html
    }

    // MARK: Running Chromium

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs headless Chromium on `url` with its own profile folder; killed after 60 s.
    static func runChromium(_ arguments: [String], url: String, scratch: URL, timeout: TimeInterval = 60) throws -> Run {
        let process = Process()
        // At the lowest priority: Chromium's start-up would otherwise starve the timing-sensitive tests that run
        // beside it on two cores.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nice")
        let profile = scratch.appendingPathComponent("chromium-profile-\(UUID().uuidString)")
        process.arguments = ["-n", "19", chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                             "--user-data-dir=\(profile.path)"] + arguments + [url]
        let outURL = scratch.appendingPathComponent("chromium-\(UUID().uuidString).out")
        let errURL = scratch.appendingPathComponent("chromium-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            let grace = Date().addingTimeInterval(5)
            while process.isRunning && Date() < grace { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            Issue.record("chromium did not finish within \(Int(timeout)) s and was killed")
        }
        return Run(status: process.terminationStatus,
                   stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                   stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Lines where Chromium reports the page's console (any level: it logs them all as INFO:CONSOLE) or an uncaught
    /// exception.
    static func consoleLines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") }
    }

    static func bigEndian(_ data: Data, at offset: Int) -> UInt32 {
        data.dropFirst(offset).prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}
