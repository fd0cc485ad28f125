import ArgumentParser
import Catalog
import Foundation
import Logging
import LuaRuntime
import Pipeline

/// `conflux bench reload`: save-to-live of a hot reload, measured as a developer lives it. A copy of a shipped plugin
/// and its manifest go to a scratch project; each round rewrites `plugin.lua` (a new constant the plugin returns) and
/// times until an invocation through the plugin directory returns the new constant — inotify, the debounce, the
/// catalog re-read, the plugin's Lua tests, the fresh sandboxes and the swap all inside the figure.
struct ReloadBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Measure hot reload's save-to-live time.")
    @Option(help: "Plugin to copy (its tests run on every reload).") var plugin = "appointment-invoice"
    @Option(help: "Saves to time.") var rounds = 20
    @Option(help: "Profile whose limits apply.") var profile = "staging"

    func run() async throws {
        let layout = try ProjectLayout.locate()
        let limits = try layout.profile(profile).limits
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-bench-reload-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let folder = scratch.appendingPathComponent("plugins/\(plugin)")
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("plugins"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("catalog"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: layout.plugins.appendingPathComponent(plugin), to: folder)
        try """
            name: \(plugin)
            kind: mapping
            version: 1.0.0
            owner: Bench <bench@conflux.example>
            team: bench
            description: the reload benchmark's copy
            entry: plugins/\(plugin)
            sla: { latency_p95_ms: 100 }
            status: draft

            """.write(to: scratch.appendingPathComponent("catalog/\(plugin).yaml"), atomically: true, encoding: .utf8)
        let original = try String(contentsOf: folder.appendingPathComponent(Plugin.entryFileName), encoding: .utf8)
        guard original.contains("return M") else { throw CLIError("\(plugin)/plugin.lua must end with `return M` for this benchmark") }
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let catalog = Catalog.load(projectRoot: scratch)
        guard catalog.errors.isEmpty else { throw CLIError("catalog: \(catalog.errors.map(\.description).joined(separator: "; "))") }
        let spec = PluginReloader.spec(catalog.entries[0], catalog: catalog)
        let directory = PluginDirectory(specs: [spec], fallbackFolder: nil, limits: limits, logger: quiet)
        let reloader = PluginReloader(projectRoot: scratch, catalogDirectory: catalog.directory, pluginsFolder: scratch.appendingPathComponent("plugins"),
                                      environment: .staging, directory: directory, egress: nil, limits: limits, audit: nil, logger: quiet)
        await reloader.started(with: catalog, refusals: [:])
        let watcher = try DirectoryWatcher(folders: [scratch.appendingPathComponent("plugins"), catalog.directory])
        let loop = Task { for await batch in watcher.changes { await reloader.reload(changed: batch) } }
        defer { watcher.stop(); loop.cancel() }

        let tests = await PluginTestRunner.run(Plugin(name: plugin, folder: folder), limits: limits, logger: quiet)
        print("plugin \(plugin): \(tests.passed) tests run on every reload; \(rounds) saves")
        var samples: [Double] = []
        let clock = ContinuousClock()
        for round in 1...rounds {
            let marker = "bench-\(round)"
            let source = original.replacingOccurrences(of: "return M", with: "M._bench_marker = function() return \"\(marker)\" end\nreturn M")
            let start = clock.now
            try Data(source.utf8).write(to: folder.appendingPathComponent(Plugin.entryFileName), options: .atomic)
            var live = false
            while clock.now - start < .seconds(10) {
                let pool = try await directory.pool(plugin)
                if case .json(let bytes) = try await pool.invoke("_bench_marker", input: .json(Array("null".utf8))),
                   String(decoding: bytes, as: UTF8.self) == "\"\(marker)\"" {
                    live = true
                    break
                }
                try await Task.sleep(for: .milliseconds(1))
            }
            guard live else { throw CLIError("round \(round): the save did not go live within 10 s") }
            let elapsed = clock.now - start
            samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            try await Task.sleep(for: .milliseconds(100))
        }
        samples.sort()
        func percentile(_ p: Double) -> Double { samples[min(samples.count - 1, Int((Double(samples.count) * p).rounded(.up)) - 1)] }
        print(String(format: "save-to-live: p50 %.0f ms, p95 %.0f ms, max %.0f ms (target < 1000 ms)", percentile(0.5), percentile(0.95), samples.last ?? 0))
    }
}
