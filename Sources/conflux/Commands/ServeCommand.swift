import ArgumentParser
import Foundation
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

    @Option(help: "Environment: dev, staging or production.") var env = "dev"
    @Option(help: "Data directory (the queue's SQLite file lives here).") var data: String
    @Option(help: "Port (0 picks a free one).") var port = 8080
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Folder of flow files (default: the project's catalog/flows).") var flows: String?
    @Option(help: "Folder of plugins (default: the project's plugins).") var plugins: String?
    @Option(help: "Seconds a worker holds a message before another may take it (heartbeats extend it).") var leaseSeconds = 30.0

    func validate() throws {
        guard SandboxProfile.names.contains(env) else { throw ValidationError("--env must be one of \(SandboxProfile.names.joined(separator: ", "))") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...3600).contains(leaseSeconds) else { throw ValidationError("--lease-seconds must be between 1 and 3600") }
    }

    func run() async throws {
        let logger = CLILogging.logger("conflux.serve")
        let layout = try ProjectLayout.locate()
        let pluginsDirectory = plugins.map { URL(fileURLWithPath: $0) } ?? layout.plugins
        let flowsDirectory = flows.map { URL(fileURLWithPath: $0) } ?? layout.root.appendingPathComponent("catalog/flows")
        let definitions: [FlowDefinition]
        do {
            definitions = try FlowLoader.load(directory: flowsDirectory) { name in
                FileManager.default.fileExists(atPath: pluginsDirectory.appendingPathComponent(name).appendingPathComponent(Plugin.entryFileName).path)
            }
        } catch {
            throw CLIError("invalid flows:\n\(error)")
        }
        let store = try SQLiteMessageStore(path: URL(fileURLWithPath: data).appendingPathComponent("conflux.sqlite").path)
        let server = IngressServer(flows: definitions, store: store, batcher: IngestBatcher(store: store), logger: logger)
        let limits = try layout.profile(env).limits
        let workers = PipelineWorkers(
            flows: definitions, store: store,
            plugins: PluginDirectory(folder: pluginsDirectory, limits: limits, logger: CLILogging.logger("conflux.plugins")),
            owner: "\(ProcessInfo.processInfo.hostName)-\(getpid())", leaseDuration: leaseSeconds,
            logger: CLILogging.logger("conflux.worker"))
        let app = Application(
            router: server.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "conflux"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                // Written straight to the file descriptor: tests and scripts wait for this line, unbuffered.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(bound)\n".utf8))
            },
            logger: logger)
        logger.info("serving", metadata: ["env": "\(env)", "flows": "\(definitions.map(\.name))", "data": "\(data)"])
        // One service group: SIGTERM/SIGINT stop the HTTP server and the workers together; workers finish what they
        // hold, then the process exits 0.
        let group = ServiceGroup(configuration: .init(services: [app, workers], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
    }
}
