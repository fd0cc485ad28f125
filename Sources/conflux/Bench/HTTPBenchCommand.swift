import ArgumentParser
import Egress
import Foundation
import HTTPTransport
import LuaRuntime
import Synchronization

/// `conflux bench http`: the request rate Lua plugins reach through `http.request` (prelude wrapper → host function →
/// EgressGateway → HTTPClient) against a loopback keep-alive sink, beside what `wrk` reaches against the same sink on
/// the same machine, one after the other.
struct HTTPBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Plugins' http.request rate against a loopback sink, beside wrk's against the same sink.",
        discussion: "Needs wrk on the PATH. Ends with the line 'ratio: R (Lua / wrk)'.")

    @Option(help: "Seconds of each measurement.") var seconds = 10
    @Option(help: "Keep-alive connections: wrk's -c and the Lua side's concurrent invocations.") var connections = 64
    @Option(help: "wrk threads (-t).") var threads = 2
    @Option(help: "Lua states in the plugin's pool.") var states = 2
    @Option(help: "The HTTP client's event loops, which run the Lua states too (default: one per core, as conflux serve).")
    var eventLoops = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Requests each invocation makes in its loop before returning.") var requestsPerInvocation = 100
    @Option(help: "Profile whose limits apply to the plugin.") var profile = "production"
    @Option(help: "Alternating rounds of wrk then Lua; the ratio is of the medians (one long run of each can land on different noise).")
    var rounds = 1

    func validate() throws {
        guard seconds >= 1, connections >= 1, threads >= 1, states >= 1, requestsPerInvocation >= 1, rounds >= 1,
              eventLoops >= 1 else {
            throw ValidationError("--seconds, --connections, --threads, --states, --event-loops, --requests-per-invocation and --rounds must be at least 1")
        }
    }

    func run() async throws {
        guard let wrk = Self.executable("wrk") else {
            throw CLIError("wrk is not installed (apt-get install wrk): it is the reference this benchmark compares with")
        }
        let layout = try ProjectLayout.locate()
        let limits = try layout.profile(profile).limits
        let sink = BenchSink()
        let (port, sinkTask) = try await sink.start()
        defer { sinkTask.cancel() }
        let url = "http://127.0.0.1:\(port)/ping"
        print("conflux bench http — \(ProcessInfo.processInfo.activeProcessorCount) cores; libcurl \(HTTPClient.libcurlVersion); sink \(url)")

        let client = HTTPClient(configuration: .init(name: "egress", eventLoops: eventLoops, maxConnectionsPerHost: connections))
        defer { client.shutdown() }
        let load = try await LuaHTTPLoad(url: url, client: client, limits: limits, states: states)
        var wrkRates: [Double] = [], luaRates: [Double] = []
        var failures = 0
        for round in 1...rounds {
            let label = rounds > 1 ? "round \(round): " : ""
            // CPU time per request beside the rates: the host's steal moves req/s between runs, µs of CPU per request
            // barely, and the split says where the ratio comes from (the sink's share is the same on both sides).
            let machineStart = CPUUsage.MachineSample.now()
            let (selfBefore, childrenBefore) = (CPUUsage.seconds(), CPUUsage.seconds(children: true))
            let reference = try WrkRun.run(wrk, url: url, threads: threads, connections: connections, seconds: seconds)
            let (selfAfterWrk, childrenAfter) = (CPUUsage.seconds(), CPUUsage.seconds(children: true))
            wrkRates.append(reference.requestsPerSecond)
            print("\(label)wrk -t\(threads) -c\(connections) -d\(seconds)s: \(Int(reference.requestsPerSecond)) req/s"
                  + (reference.problems.isEmpty ? "" : " (\(reference.problems.joined(separator: "; ")))"))
            let lua = await load.run(invocations: connections, requestsPerInvocation: requestsPerInvocation, for: .seconds(seconds))
            luaRates.append(lua.requestsPerSecond)
            failures += lua.failures
            print("\(label)Lua http.request (\(connections) concurrent invocations × \(requestsPerInvocation) requests each, "
                  + "\(states) states on \(eventLoops) event loop\(eventLoops == 1 ? "" : "s"), \(profile) profile, EgressGateway): \(lua.requests) requests in "
                  + "\(String(format: "%.1f", lua.seconds)) s → \(Int(lua.requestsPerSecond)) req/s"
                  + (lua.failures > 0 ? ", \(lua.failures) invocations failed: \(lua.firstFailure ?? "")" : ""))
            if reference.requests > 0, lua.requests > 0 {
                let sink = (selfAfterWrk - selfBefore) / Double(reference.requests) * 1e6
                let wrkClient = (childrenAfter - childrenBefore) / Double(reference.requests) * 1e6
                let luaSide = (CPUUsage.seconds() - selfAfterWrk) / Double(lua.requests) * 1e6
                let steal: Double? = if let machineStart, let now = CPUUsage.MachineSample.now() { now.stealShare(since: machineStart) } else { nil }
                print("\(label)CPU per request: wrk run \(Int(sink + wrkClient)) µs (sink \(Int(sink)), wrk \(Int(wrkClient)));"
                      + " Lua run \(Int(luaSide)) µs (sink and Lua client in this process: the client ≈ \(Int(max(0, luaSide - sink))) µs)"
                      + (steal.map { "; CPU taken by the host (steal): \(Int($0 * 100))%" } ?? ""))
            }
        }

        // Where the gap is: the same client driven from Swift, no Lua and no gateway.
        let bare = await RawLimits.requestRate(client: client, url: url, connections: connections, for: .seconds(seconds))
        print("HTTPClient alone (\(connections) concurrent execute calls, no Lua, no gateway): \(Int(bare)) req/s")

        let (wrkRate, luaRate) = (Self.median(wrkRates), Self.median(luaRates))
        if rounds > 1 { print("medians: wrk \(Int(wrkRate)) req/s, Lua \(Int(luaRate)) req/s") }
        print("ratio: \(String(format: "%.2f", luaRate / max(wrkRate, 1))) (Lua / wrk)")
        if failures > 0 { throw ExitCode(1) }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The first executable called `name` on the PATH.
    static func executable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
