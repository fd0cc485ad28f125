import ArgumentParser
import Catalog
import Egress
import Foundation
import HTTPTransport
import Secrets
import Hummingbird
import Logging
import LuaRuntime
import Pipeline
import ServiceLifecycle
import Server
import Store
import StoreSQLite

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Accept partner messages over HTTP into the durable queue.",
        discussion: "Prints 'listening on http://HOST:PORT' once the port is open. SIGTERM or SIGINT stops gracefully."
    )

    @Option(help: "Environment: dev, staging or production (production runs only approved catalog entries at their approved hash; dev and staging hot-reload plugins/ and catalog/).") var env = "dev"
    @Option(help: "Data directory (the queue's SQLite file lives here).") var data: String
    @Option(help: "Port (0 picks a free one).") var port = 8080
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Folder of flow files (default: the project's catalog/flows).") var flows: String?
    @Option(help: "Folder of plugins (default: the project's plugins).") var plugins: String?
    @Option(help: "Folder of catalog manifests: which plugin versions run, their egress lists and approvals (default: the project's catalog).")
    var catalog: String?
    @Option(help: "Seconds a worker holds a message before another may take it (heartbeats extend it).") var leaseSeconds = 30.0
    @Option(name: .customLong("mllp"), help: ArgumentHelp("An MLLP listener for HL7 v2 senders: SOURCE:PORT (PORT 0 picks a free one). Repeatable; SOURCE is a flow's source plugin, whose content_types must include application/hl7-v2.", valueName: "source:port"))
    var mllp: [String] = []

    func validate() throws {
        guard SandboxProfile.names.contains(env) else { throw ValidationError("--env must be one of \(SandboxProfile.names.joined(separator: ", "))") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...3600).contains(leaseSeconds) else { throw ValidationError("--lease-seconds must be between 1 and 3600") }
        _ = try mllpListeners()
    }

    /// `--mllp SOURCE:PORT` pairs.
    func mllpListeners() throws -> [(source: String, port: Int)] {
        try mllp.map { text in
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (0...65535).contains(port) else {
                throw ValidationError("--mllp \(text): expected SOURCE:PORT, as in scheduling-hl7:2575")
            }
            return (String(parts[0]), port)
        }
    }

    func run() async throws {
        let logger = CLILogging.logger("conflux.serve")
        let layout = try ProjectLayout.locate()
        let environment = RuntimeEnvironment(rawValue: env) ?? .dev
        let pluginsDirectory = plugins.map { URL(fileURLWithPath: $0) } ?? layout.plugins
        let flowsDirectory = flows.map { URL(fileURLWithPath: $0) } ?? layout.root.appendingPathComponent("catalog/flows")
        let catalogDirectory = catalog.map { URL(fileURLWithPath: $0) } ?? layout.root.appendingPathComponent("catalog")
        // Each entry is judged on its own: one refused (unapproved, tampered, invalid) does not stop the others.
        let runtime = CatalogRuntime(environment: environment, projectRoot: layout.root, catalogDirectory: catalogDirectory, logger: logger)
        let (loadedFlows, flowProblems) = FlowLoader.loadEach(directory: flowsDirectory) { runtime.pluginExists($0, pluginsDirectory: pluginsDirectory) }
        if !flowProblems.isEmpty {
            // A developer fixes a broken flow before anything runs; production serves the flows that are fine.
            guard environment == .production else { throw CLIError("invalid flows:\n" + flowProblems.map(\.description).joined(separator: "\n")) }
            for problem in flowProblems {
                logger.error("refusing flow; the others keep serving", metadata: ["at": "\(problem.file):\(problem.line)", "reason": "\(problem.field): \(problem.message)"])
            }
        }
        let definitions = runtime.runnable(loadedFlows, logger: logger)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let store = try SQLiteMessageStore(path: URL(fileURLWithPath: data).appendingPathComponent("conflux.sqlite").path)
        let secretRecords = try SQLiteSecretRecords(path: store.path)
        let tokens = try SQLiteAdminTokens(path: store.path)
        let limits = try layout.profile(env).limits
        // One HTTP client for every plugin: connections to a partner are kept alive and shared. One event loop per
        // core, since the plugin states run on them (see HTTPClient.nextExecutor).
        let client = HTTPClient(configuration: .init(name: "egress", eventLoops: ProcessInfo.processInfo.activeProcessorCount,
                                                     maxConnectionsPerHost: 32))
        defer { client.shutdown() }
        // Secrets open at send time when a request refers to one; a server that needs none runs without a master key.
        let keyFile = URL(fileURLWithPath: data).appendingPathComponent("master.key")
        let vault = Result { try MasterKey.load(keyFile: keyFile) }.map {
            SecretVault(records: secretRecords, key: $0)
        }
        let gateway = EgressGateway(client: client, policies: runtime.policies) { name in try await vault.get().reveal(name) }
        let plugins = PluginDirectory(specs: runtime.specs, fallbackFolder: environment.allowsUncataloged ? pluginsDirectory : nil,
                                      refusals: runtime.refusals, limits: limits, http: gateway, audit: store,
                                      ledger: StoreLedger(store: store), environment: environment.rawValue,
                                      logger: CLILogging.logger("conflux.plugins"))
        let reloader = PluginReloader(projectRoot: layout.root, catalogDirectory: catalogDirectory, pluginsFolder: pluginsDirectory,
                                      environment: environment, directory: plugins, egress: gateway.endpoints, limits: limits, audit: store,
                                      logger: CLILogging.logger("conflux.reload"))
        await reloader.started(with: runtime.catalog, refusals: runtime.refusals)
        let governance = Governance(projectRoot: layout.root, catalogDirectory: catalogDirectory, audit: store)
        let workers = PipelineWorkers(
            flows: definitions, store: store, plugins: plugins,
            owner: "\(ProcessInfo.processInfo.hostName)-\(getpid())", leaseDuration: leaseSeconds,
            logger: CLILogging.logger("conflux.worker"))
        let batcher = IngestBatcher(store: store, afterCommit: { workers.wakeAll() })
        let authentication = SourceAuthentication { name in try await vault.get().reveal(name) }
        let server = IngressServer(flows: definitions, store: store, batcher: batcher, plugins: plugins,
                                   authentication: authentication,
                                   endpoints: EndpointsReport(json: gateway.endpoints.json, metrics: gateway.endpoints.prometheusText),
                                   access: AdminAccess(tokens: tokens, requireTokens: environment == .production),
                                   catalog: runtime.handlers(reloader: reloader, governance: governance, pluginsDirectory: pluginsDirectory),
                                   logger: logger)
        let scheduler = FlowScheduler(flows: definitions, logger: CLILogging.logger("conflux.scheduler")) { try await batcher.submit($0) }
        var services: [any Service] = [workers, scheduler]
        for (source, port) in try mllpListeners() {
            guard let flow = definitions.first(where: { $0.source.plugin == source }) else {
                throw CLIError("--mllp \(source):\(port): no flow has the source '\(source)' (sources: \(definitions.map(\.source.plugin).sorted().joined(separator: ", ")))")
            }
            guard flow.source.contentTypes.contains("application/hl7-v2") else {
                throw CLIError("--mllp \(source):\(port): the flow \(flow.name) must list application/hl7-v2 in source.content_types")
            }
            let ingest = MLLPIngest(flow: flow, batcher: batcher, logger: CLILogging.logger("conflux.mllp"))
            services.append(MLLPListener(ingest: ingest, host: host, port: port) { bound in
                FileHandle.standardOutput.write(Data("mllp \(source) listening on tcp://\(host):\(bound)\n".utf8))
            })
        }
        if environment.hotReloads {
            do {
                let watcher = try DirectoryWatcher(folders: [pluginsDirectory, catalogDirectory])
                services.append(CatalogWatchService(watcher: watcher, reloader: reloader))
                logger.info("hot reload on: watching plugins and catalog", metadata: ["plugins": "\(pluginsDirectory.path)", "catalog": "\(catalogDirectory.path)"])
            } catch {
                logger.error("hot reload off: cannot watch the folders", metadata: ["error": "\(error)"])
            }
        }
        let app = Application(
            router: server.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "conflux"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                // Written straight to the file descriptor: tests and scripts wait for this line, unbuffered.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(bound)\n".utf8))
            },
            logger: logger)
        // Load every plugin now, so a broken one is named at start (and /readyz says so) rather than at its first message.
        for failure in await plugins.load(definitions.flatMap(\.plugins)) {
            logger.error("plugin does not load; its messages will wait (retryable) until it does",
                         metadata: ["plugin": "\(failure.plugin)", "error": "\(failure.error)"])
        }
        // A schedule names a hook its plugin must define (a mapping scheduled with `reconcile`, a source without
        // `poll`): said at start, not at its first due time.
        for flow in definitions {
            for schedule in flow.schedules {
                guard let pool = try? await plugins.pool(schedule.plugin), let instance = pool.instances.first else { continue }
                let defined = await instance.hookNames
                if !defined.contains(schedule.hook) {
                    logger.error("schedule names a hook its plugin does not define; its runs will fail until it does",
                                 metadata: ["flow": "\(flow.name)", "schedule": "\(schedule.name)", "plugin": "\(schedule.plugin)",
                                            "hook": "\(schedule.hook)", "defined": "\(defined.sorted().joined(separator: ", "))"])
                }
            }
        }
        logger.info("serving", metadata: ["env": "\(env)", "flows": "\(definitions.map(\.name))", "data": "\(data)"])
        // One service group: SIGTERM/SIGINT stop the HTTP server and the workers together; workers finish what they
        // hold, then the process exits 0.
        let group = ServiceGroup(configuration: .init(services: [app] + services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
    }
}
