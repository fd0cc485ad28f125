import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `conflux demo`: the whole product on one machine in under a minute. Starts the partner simulators (Odoo, the
/// scheduling system, the clearinghouse, the payment gateway, the SMS provider, the supplier portal) and `conflux
/// serve` on the embedded SQLite store, drives a day of two clinics through them, prints what flowed where and what
/// Odoo now holds, and cleans up.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a day of two clinics through Conflux with every partner simulated, and print what happened.",
        discussion: "Everything runs from a fresh folder under the temporary directory, removed at the end (--keep leaves it, with the logs and the store)."
    )

    @Flag(help: "Keep the demo's folder (store, logs, copied catalog) and print where it is.") var keep = false

    func run() async throws {
        let clock = ContinuousClock(), started = clock.now
        let project = try ProjectLayout.locate().root
        print("Conflux demo — a day at Northside Clinics (north and south sites)\n")
        // A child writing to a closed pipe must not kill the demo silently.
        signal(SIGPIPE, SIG_IGN)
        let workspace = try DemoWorkspace.create(project: project)
        let cleanup = DemoCleanup(workspace: workspace, keep: keep)
        // Ctrl-C or SIGTERM: the children run in their own process groups, so the terminal's signal reaches only
        // this process; stop them and remove the folder before leaving.
        let signals = [Int32(SIGINT), Int32(SIGTERM)].map { (number: Int32) -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                print("\ninterrupted: stopping the simulators and the server")
                cleanup.interrupted = true
                cleanup.run()
                Glibc.exit(130)
            }
            source.resume()
            return source
        }
        defer {
            cleanup.run()
            for source in signals { source.cancel() }
        }
        do {
            try DemoPartners.start(workspace, into: cleanup)
            let day = DemoDay(workspace: workspace)
            try await day.run()
            let summary = try await DemoSummary.collect(workspace: workspace)
            print(summary.render(elapsed: clock.now - started, kept: keep))
        } catch {
            if cleanup.interrupted {
                cleanup.run() // waits for the signal handler's clean-up
                Glibc.exit(130)
            }
            for child in cleanup.children where !child.process.isRunning {
                print("\n\(child.name) stopped; the end of its log:\n\(child.tail())")
            }
            throw error
        }
    }
}

/// Stops the children and removes (or shows) the folder, once, from the normal end or from a signal handler.
final class DemoCleanup: @unchecked Sendable {
    let workspace: DemoWorkspace
    let keep: Bool
    private let lock = NSLock()
    /// Held for the whole clean-up, so a second caller (the normal end racing a signal) waits until it is finished.
    private let running = NSLock()
    private var done = false
    private var _interrupted = false
    var interrupted: Bool {
        get { lock.withLock { _interrupted } }
        set { lock.withLock { _interrupted = newValue } }
    }
    private var _children: [DemoChild] = []
    var children: [DemoChild] {
        get { lock.withLock { _children } }
        set { lock.withLock { _children = newValue } }
    }

    init(workspace: DemoWorkspace, keep: Bool) {
        self.workspace = workspace
        self.keep = keep
    }

    func run() {
        running.lock()
        defer { running.unlock() }
        let children: [DemoChild]? = lock.withLock {
            if done { return nil }
            done = true
            return _children
        }
        guard let children else { return }
        for child in children.reversed() { child.stop() }
        if keep { print("\nThe demo's folder is kept: \(workspace.folder.path) (logs: *.log, store: data/)") } else { workspace.remove() }
    }
}

/// Starting the simulators and the server, each waited for before the next needs it.
enum DemoPartners {
    /// Each child joins `cleanup` as soon as it exists, so an error or a signal during start-up stops it too.
    static func start(_ w: DemoWorkspace, into cleanup: DemoCleanup) throws {
        let p = w.ports, server = w.url(p.server)
        func launch(_ name: String, _ arguments: [String], ready: String = "listening on", environment: [String: String] = [:]) throws {
            let child = try DemoChild(name: name, arguments: arguments, folder: w.folder, environment: environment)
            cleanup.children.append(child)
            try child.waitFor(ready)
        }

            try launch("odoo", ["simulate", "odoo", "--port", "\(p.odoo)", "--api-key", DemoWorkspace.secrets["odoo/api_key"]!])
            try launch("clearinghouse", ["simulate", "clearinghouse", "--port", "\(p.clearinghouse)",
                                         "--api-key", DemoWorkspace.secrets["clearinghouse/api_key"]!, "--remit-url", "\(server)/ingest/remittance-835"])
            try launch("payments", ["simulate", "payments", "--port", "\(p.payments)",
                                    "--webhook-secret", DemoWorkspace.secrets["payments/webhook_secret"]!, "--webhook-url", "\(server)/ingest/payments-webhook"])
            try launch("messaging", ["simulate", "messaging", "--port", "\(p.messaging)", "--auth-token", DemoWorkspace.secrets["messaging/auth_token"]!,
                                     "--inbound-url", "\(server)/ingest/messaging-status", "--email-events-url", "\(server)/ingest/email-events"],
                       environment: ["MESSAGING_SIM_SENDGRID_KEY": DemoWorkspace.secrets["messaging/sendgrid_api_key"]!,
                                     "MESSAGING_SIM_EMAIL_EVENT_KEY": w.emailEventKey.rawRepresentation.base64EncodedString()])
            try launch("supplier", ["simulate", "supplier", "--port", "\(p.supplier)", "--api-key", DemoWorkspace.secrets["supplier/api_key"]!,
                                    "--webhook-url", "\(server)/ingest/supplier-portal-events",
                                    "--webhook-secret", DemoWorkspace.secrets["supplier/webhook_secret"]!, "--deliver-after-ms", "300"])
            try launch("server", ["serve", "--env", "dev", "--data", w.data, "--port", "\(p.server)", "--plugins", w.plugins,
                                  "--catalog", w.catalog, "--flows", w.flows, "--mllp", "scheduling-hl7:\(p.mllp)"])
            try launch("scheduling", ["simulate", "scheduling", "--port", "\(p.scheduling)", "--mllp", "127.0.0.1:\(p.mllp)",
                                      "--fhir-url", "\(server)/ingest/scheduling-fhir", "--saas-url", "\(server)/ingest/scheduling-saas",
                                      "--saas-secret", DemoWorkspace.secrets["scheduling/saas_webhook_secret"]!])
    }
}
