import ArgumentParser
import Foundation
import LuaRuntime

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the runtime (figures for the issue notes; not tests).",
        subcommands: [Map.self, Pool.self, Sleep.self, PipelineBenchCommand.self, HTTPBenchCommand.self, ReloadBenchCommand.self]
    )

    struct Map: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Throughput of decode → map → encode under the production profile.",
            discussion: "FILE returns a table with a map function. Ends with the line 'throughput: N msgs/s'."
        )
        @Argument(help: "Lua file returning { map = function(event, ctx) … end }.") var file: String
        @Argument(help: "The input event (JSON).") var input: String
        @Option(help: "How long to measure.") var seconds: Double = 5
        @Option(help: "Profile whose limits apply.") var profile = "production"
        @Flag(help: "Also run with limits off (no hook, no allocator cap) and print the sandbox overhead.")
        var compareLimitsOff = false

        func run() async throws {
            let layout = try ProjectLayout.locate()
            let limits = try layout.profile(profile).limits
            let inputBytes = Array(try Data(contentsOf: URL(fileURLWithPath: input)))
            let logger = CLILogging.logger("conflux.bench")
            let url = URL(fileURLWithPath: file)
            print("input: \(inputBytes.count) bytes; profile: \(profile); \(seconds) s per run")
            var off: MapBenchmark?
            var on: MapBenchmark
            if compareLimitsOff {
                // Alternate short rounds of each and keep the medians: on a shared machine, noise that hits one long run
                // and not the other would otherwise decide the comparison.
                let rounds = 5
                var offRuns: [MapBenchmark] = [], onRuns: [MapBenchmark] = []
                for _ in 0..<rounds {
                    offRuns.append(try MapBenchmark.run(mapFile: url, input: inputBytes, seconds: seconds / Double(rounds),
                                                        limits: limits, limitsEnabled: false, logger: logger))
                    onRuns.append(try MapBenchmark.run(mapFile: url, input: inputBytes, seconds: seconds / Double(rounds),
                                                       limits: limits, limitsEnabled: true, logger: logger))
                }
                off = offRuns.sorted { $0.throughput < $1.throughput }[rounds / 2]
                on = onRuns.sorted { $0.throughput < $1.throughput }[rounds / 2]
                print("limits off: \(Int(off!.throughput)) msgs/s (median of \(rounds) alternating rounds)")
            } else {
                on = try MapBenchmark.run(mapFile: url, input: inputBytes, seconds: seconds, limits: limits,
                                          limitsEnabled: true, logger: logger)
            }
            print("messages: \(on.messages) in \(String(format: "%.2f", on.seconds)) s")
            print("latency p50: \(String(format: "%.1f", on.latencyP50Microseconds)) µs, p99: \(String(format: "%.1f", on.latencyP99Microseconds)) µs")
            print("instructions per message: ~\(on.instructionsPerMessage) (counted in steps of \(limits.hookInterval))")
            print("output: \(on.outputBytes) bytes; state memory peak: \(on.memoryPeakBytes) bytes")
            if let off {
                let overhead = (off.throughput / on.throughput - 1) * 100
                print("sandbox overhead (hook + allocator) vs limits off: \(String(format: "%.1f", overhead))%")
            }
            print("throughput: \(Int(on.throughput)) msgs/s")
        }
    }

    struct Pool: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lua memory of a pool of states with a plugin loaded.")
        @Argument(help: "Plugin name (under plugins/) or folder path.") var plugin: String
        @Option(help: "Number of states.") var states = 4
        @Option(help: "Profile whose limits apply.") var profile = "production"

        func run() async throws {
            let layout = try ProjectLayout.locate()
            let limits = try layout.profile(profile).limits
            let plugin = try Plugin.locate(plugin, pluginsDirectory: layout.plugins)
            let pool = try await PluginPool.load(plugin, states: states, limits: limits, logger: CLILogging.logger("conflux.bench"))
            let bytes = await pool.memoryUsed()
            print("pool of \(states) states with \(plugin.name) loaded: \(bytes) bytes of Lua memory (\(String(format: "%.2f", Double(bytes) / 1_048_576)) MiB)")
        }
    }

    struct Sleep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Concurrent invocations that each wait in time.sleep, on one state: proves host calls yield.")
        @Option(help: "Concurrent invocations.") var invocations = 1000
        @Option(help: "Milliseconds each sleeps.") var milliseconds = 100
        @Option(help: "Number of states in the pool.") var states = 1

        func run() async throws {
            let layout = try ProjectLayout.locate()
            let limits = try layout.profile("production").limits
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-bench-sleep-\(getpid())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try Data("""
                local time = require("time")
                return { kind = "mapping", map = function(event) time.sleep(event.ms); return { slept = event.ms } end }
                """.utf8).write(to: folder.appendingPathComponent("plugin.lua"))
            let pool = try await PluginPool.load(Plugin(name: "sleeper", folder: folder), states: states, limits: limits,
                                                 logger: CLILogging.logger("conflux.bench"))
            let input = Array(#"{"ms":\#(milliseconds)}"#.utf8)
            let clock = ContinuousClock()
            let start = clock.now
            let failures = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<invocations {
                    group.addTask { (try? await pool.invoke("map", input: .json(input))) != nil }
                }
                var failures = 0
                for await ok in group where !ok { failures += 1 }
                return failures
            }
            let elapsed = clock.now - start
            print("\(invocations) invocations × time.sleep(\(milliseconds)) on \(states) state(s): \(elapsed), \(failures) failed")
        }
    }
}
