import ArgumentParser
import Egress
import Foundation
import HTTPTransport
import Hummingbird
import LuaRuntime
import Logging
import Pipeline
import Server
import ServiceLifecycle
import Store
import StoreSQLite
import Synchronization

/// `conflux bench pipeline`: the whole path in one process — HTTP ingest → durable enqueue (synchronous=FULL, group
/// commit) → Lua decode and map → Lua connector → `http.request` to a loopback sink → ack — then the raw limits of the
/// machine for the same work, so the ratios are visible.
struct PipelineBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "End-to-end throughput and ingest latency of the pipeline, beside the machine's raw limits.")

    @Option(help: "Seconds of the sustained-throughput phase.") var seconds: Double = 60
    @Option(help: "Concurrent senders (keep-alive connections) in the throughput phase.") var connections = 64
    @Option(help: "Offered load of the latency phase, messages per second.") var rate = 2000
    @Option(help: "Seconds of the latency phase.") var latencySeconds: Double = 20
    @Option(help: "The flow's concurrency (its bulkhead).") var concurrency = 64
    @Option(help: "Lua states per plugin.") var states = 2
    @Flag(help: "Order messages per appointment id (the realistic setting; costs a lookup per lease).") var ordered = false

    func run() async throws {
        let layout = try ProjectLayout.locate()
        let template = String(decoding: try Data(contentsOf: layout.root.appendingPathComponent("bench/appointment.json")), as: UTF8.self)
        let sink = BenchSink()
        let (sinkPort, sinkTask) = try await sink.start()
        defer { sinkTask.cancel() }
        let fixture = try PipelineBenchFixture(root: layout.root, sinkPort: sinkPort, concurrency: concurrency, ordered: ordered)
        defer { try? FileManager.default.removeItem(at: fixture.folder) }

        // The server, wired exactly as `conflux serve` wires it.
        // Logged as `conflux serve` logs (CONFLUX_LOG_LEVEL, info by default): what a server pays for logging, the
        // bench pays too.
        let logger = CLILogging.logger("conflux.bench")
        let flows = try FlowLoader.load(directory: fixture.flows) { _ in true }
        let store = try SQLiteMessageStore(path: fixture.data.appendingPathComponent("conflux.sqlite").path)
        let egressClient = HTTPClient(configuration: .init(name: "egress", eventLoops: ProcessInfo.processInfo.activeProcessorCount,
                                                               maxConnectionsPerHost: concurrency))
        defer { egressClient.shutdown() }
        let gateway = EgressGateway(client: egressClient, policies: try EgressManifest.load(directory: fixture.catalog))
        let limits = try layout.profile("production").limits
        let plugins = PluginDirectory(folder: fixture.plugins, limits: limits, statesPerPlugin: states, http: gateway, logger: logger)
        let failures = await plugins.load(flows.flatMap(\.plugins))
        guard failures.isEmpty else { throw CLIError("bench plugins do not load: \(failures)") }
        let workers = PipelineWorkers(flows: flows, store: store, plugins: plugins, owner: "bench", logger: logger)
        let batcher = IngestBatcher(store: store, afterCommit: { workers.wakeAll() })
        let ingress = IngressServer(flows: flows, store: store, batcher: batcher, logger: logger)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: ingress.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app, workers], logger: logger))
        let serverTask = Task { try await group.run() }
        var ports = portStream.makeAsyncIterator()
        guard let port = await ports.next(), port > 0 else { throw CLIError("the server did not start") }
        let ingestURL = "http://127.0.0.1:\(port)/ingest/bench-source"
        let client = HTTPClient(configuration: .init(name: "load", maxConnectionsPerHost: max(connections, 512)))
        defer { client.shutdown() }

        print("conflux bench pipeline — \(ProcessInfo.processInfo.activeProcessorCount) cores; libcurl \(HTTPClient.libcurlVersion)")
        print("event: bench/appointment.json (\(template.utf8.count) bytes) · flow concurrency \(concurrency) · \(states) Lua states per plugin"
              + " · ordering per key \(ordered ? "on" : "off") · SQLite WAL synchronous=FULL, group commit")

        // Phase 1: sustained throughput, closed loop.
        let completed = { () async -> Int in await workers.workers[0].outcomes[.succeeded] ?? 0 }
        let counters = LoadGenerator.Counters()
        let load = LoadGenerator(client: client, url: ingestURL, template: template)
        let startCompleted = await completed()
        let startSink = sink.requests
        let clock = ContinuousClock()
        let phaseStart = clock.now
        let (cpuStart, machineStart) = (CPUUsage.seconds(), CPUUsage.MachineSample.now())
        await load.closedLoop(connections: connections, for: .milliseconds(Int(seconds * 1000)), counters: counters)
        let elapsed = (clock.now - phaseStart).seconds
        let doneInWindow = await completed() - startCompleted
        let cpuAfterIngest = CPUUsage.seconds()
        let sinkInWindow = sink.requests - startSink
        let accepted = counters.sent.load(ordering: .relaxed)
        print("")
        print("== sustained throughput (\(connections) senders, \(String(format: "%.1f", elapsed)) s)")
        print("ingest accepted: \(accepted) (\(Int(Double(accepted) / elapsed)) msgs/s), rejected: \(counters.rejected.load(ordering: .relaxed))")
        print("completed while ingest ran (acked after the sink answered): \(doneInWindow) (\(Int(Double(doneInWindow) / elapsed)) msgs/s);"
              + " sink requests: \(sinkInWindow)")
        let drainStart = clock.now
        while await completed() - startCompleted < accepted, (clock.now - drainStart) < .seconds(300) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let drained = (clock.now - drainStart).seconds
        let throughAll = await completed() - startCompleted
        // End to end: every accepted message through ingest, queue, Lua, the sink and the ack, over the whole time it
        // took (ingest window + draining what ingest got ahead by).
        let e2e = Double(throughAll) / (elapsed + drained)
        print("end to end: \(throughAll) messages in \(String(format: "%.1f", elapsed + drained)) s → \(Int(e2e)) msgs/s")
        // CPU per message does not move with the host's steal the way msgs/s does; 10,000 msgs/s on this machine's
        // cores leaves (cores / 10,000) s of CPU per message for everything in this process.
        let cpuEnd = CPUUsage.seconds()
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        let perMessage = (cpuEnd - cpuStart) / Double(max(1, throughAll)) * 1e6
        let drainedMessages = throughAll - doneInWindow
        let machineEnd = CPUUsage.MachineSample.now()
        let steal: Double? = if let machineStart, let machineEnd { machineEnd.stealShare(since: machineStart) } else { nil }
        print("CPU: \(Int(perMessage)) µs per message end to end (load generator, server, Lua, sink: all in this process;"
              + " budget for 10,000 msgs/s on \(Int(cores)) cores: \(Int(cores / 10_000 * 1e6)) µs)"
              + (drainedMessages > 0 ? "; after ingest stopped: \(Int((cpuEnd - cpuAfterIngest) / Double(drainedMessages) * 1e6)) µs per message processed (lease, Lua, sink, ack)" : "")
              + (steal.map { "; CPU taken by the host (steal): \(Int($0 * 100))%" } ?? "")
              + (throughAll < accepted ? " (the drain timed out with \(accepted - throughAll) unfinished: an overestimate)" : ""))
        let commits = await batcher.commits, committed = await batcher.committed
        let batch = max(1, committed / max(1, commits))
        print("backlog drained in \(String(format: "%.1f", drained)) s; ingest group commits: \(commits) for \(committed) messages (mean batch \(batch))")

        // Phase 2: ingest latency at a fixed offered rate (open loop: latency counts from the scheduled send time).
        let latencies = await load.openLoop(rate: rate, for: .milliseconds(Int(latencySeconds * 1000)), startId: 10_000_000)
        print("")
        print("== ingest latency at \(rate) msgs/s offered for \(Int(latencySeconds)) s (POST → 202 after commit)")
        print(LatencySummary(latencies.samples).text + (latencies.failures > 0 ? "; \(latencies.failures) failed" : ""))
        let catchUp = clock.now
        let expected = accepted + latencies.samples.count
        while await completed() - startCompleted < expected, (clock.now - catchUp) < .seconds(60) {
            try await Task.sleep(for: .milliseconds(50))
        }
        print("sink: \(sink.requests) requests, \(sink.distinctKeys) distinct idempotency keys")

        serverTask.cancel()
        _ = try? await serverTask.value

        // Phase 3: the raw limits of the machine for the same work.
        print("")
        print("== raw limits on this machine (same rows, same batch size, same loopback)")
        let sqlite = try await RawLimits.sqlite(template: template, batch: batch, rows: 20_000, folder: fixture.folder)
        print("SQLite insert + lease update + settle update, batches of \(batch), synchronous=FULL: \(Int(sqlite)) rows/s")
        let rtt = await RawLimits.roundTrip(client: client, url: "http://127.0.0.1:\(sinkPort)/ping", count: 2000)
        print("loopback HTTP round trip (one keep-alive connection, sequential): \(LatencySummary(rtt).text)")
        let httpRate = await RawLimits.requestRate(client: client, url: "http://127.0.0.1:\(sinkPort)/ping",
                                                   connections: connections, for: .seconds(5))
        print("loopback HTTP request rate (\(connections) connections, same client): \(Int(httpRate)) req/s"
              + " (a message costs 2 requests: ingest and sink → \(Int(httpRate / 2)) msgs/s)")
        print("")
        print("ratios: end to end / SQLite limit = \(String(format: "%.2f", e2e / sqlite)); end to end / HTTP limit (2 requests per message) = \(String(format: "%.2f", e2e / (httpRate / 2)))")
        print("throughput: \(Int(e2e)) msgs/s end to end")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
