import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Simulators

/// `conflux simulate odoo|payments|clearinghouse`: partner systems' stand-ins, speaking their real protocols with
/// synthetic data and injected faults, for developers without those systems and for the tests and the demo.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a stand-in for a partner system (synthetic data, fault injection).",
        subcommands: [SimulateOdoo.self]
    )
}

struct SimulateOdoo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "odoo",
        abstract: "An Odoo 19 stand-in: /jsonrpc (common, object.execute_kw), /json/2/<model>/<method>, /web/webclient/version_info.",
        discussion: """
        Prints 'listening on http://HOST:PORT'. GET /_sim/state shows every record; POST /_sim/faults injects faults, e.g.
        {"outage":true}, {"fail_next":3,"fail_status":502}, {"serialization_failures":2}, {"drop_connections":1},
        {"access_denied":1}, {"latency_ms":200}, {"fail_rate":0.3}.
        """
    )

    @Option(help: "Port (0 picks a free one).") var port = 8069
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "The database name clients must name.") var database = "clinic"
    @Option(help: "The integration user's login.") var login = "conflux-bot"
    @Option(help: "The user's API key (also the JSON-RPC password). Read from the environment variable ODOO_SIM_API_KEY when not given.")
    var apiKey: String?
    @Option(help: "Latency added to every RPC answer, in milliseconds.") var latencyMs = 0
    @Option(help: "Fraction of RPC calls answered 503 (0–1).") var failRate = 0.0

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (0...1).contains(failRate) else { throw ValidationError("--fail-rate must be between 0 and 1") }
        guard (0...60_000).contains(latencyMs) else { throw ValidationError("--latency-ms must be between 0 and 60000") }
    }

    func run() async throws {
        guard let key = apiKey ?? ProcessInfo.processInfo.environment["ODOO_SIM_API_KEY"], !key.isEmpty else {
            throw ValidationError("give the API key with --api-key or ODOO_SIM_API_KEY")
        }
        let simulator = await OdooSimulator(database: database, login: login, apiKey: key)
        var faults = OdooFaults()
        faults.latency_ms = latencyMs
        faults.fail_rate = failRate
        await simulator.setFaults(faults)
        try await SimulatorServer.run(router: simulator.router(), host: host, port: port, name: "odoo-simulator")
    }
}

enum SimulatorServer {
    /// Serves `router` until SIGTERM/SIGINT; prints the "listening on" line tests and scripts wait for.
    static func run(router: Router<BasicRequestContext>, host: String, port: Int, name: String) async throws {
        var logger = Logger(label: "conflux.\(name)")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: name),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(bound)\n".utf8))
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
