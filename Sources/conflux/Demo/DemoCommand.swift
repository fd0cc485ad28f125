import ArgumentParser
import Foundation

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
        let workspace = try DemoWorkspace.create(project: project)
        var children: [DemoChild] = []
        defer {
            for child in children.reversed() { child.stop() }
            if keep { print("\nThe demo's folder is kept: \(workspace.folder.path) (logs: *.log, store: data/)") } else { workspace.remove() }
        }
        do {
            children = try DemoPartners.start(workspace)
            let day = DemoDay(workspace: workspace)
            let story = try await day.run()
            let summary = try await DemoSummary.collect(workspace: workspace, story: story)
            print(summary.render(elapsed: clock.now - started, kept: keep))
        } catch {
            for child in children where !child.process.isRunning {
                print("\n\(child.name) stopped; the end of its log:\n\(child.tail())")
            }
            throw error
        }
    }
}

/// Starting the simulators and the server, each waited for before the next needs it.
enum DemoPartners {
    static func start(_ w: DemoWorkspace) throws -> [DemoChild] {
        let p = w.ports, server = w.url(p.server)
        var children: [DemoChild] = []
        func launch(_ name: String, _ arguments: [String], ready: String = "listening on") throws {
            let child = try DemoChild(name: name, arguments: arguments, folder: w.folder)
            children.append(child)
            try child.waitFor(ready)
        }
        do {
            try launch("odoo", ["simulate", "odoo", "--port", "\(p.odoo)", "--api-key", DemoWorkspace.secrets["odoo/api_key"]!])
            try launch("clearinghouse", ["simulate", "clearinghouse", "--port", "\(p.clearinghouse)",
                                         "--api-key", DemoWorkspace.secrets["clearinghouse/api_key"]!, "--remit-url", "\(server)/ingest/remittance-835"])
            try launch("payments", ["simulate", "payments", "--port", "\(p.payments)",
                                    "--webhook-secret", DemoWorkspace.secrets["payments/webhook_secret"]!, "--webhook-url", "\(server)/ingest/payments-webhook"])
            try launch("messaging", ["simulate", "messaging", "--port", "\(p.messaging)", "--auth-token", DemoWorkspace.secrets["messaging/auth_token"]!,
                                     "--inbound-url", "\(server)/ingest/messaging-status"])
            try launch("supplier", ["simulate", "supplier", "--port", "\(p.supplier)", "--api-key", DemoWorkspace.secrets["supplier/api_key"]!,
                                    "--webhook-url", "\(server)/ingest/supplier-portal-events",
                                    "--webhook-secret", DemoWorkspace.secrets["supplier/webhook_secret"]!, "--deliver-after-ms", "300"])
            try launch("server", ["serve", "--env", "dev", "--data", w.data, "--port", "\(p.server)", "--plugins", w.plugins,
                                  "--catalog", w.catalog, "--flows", w.flows, "--mllp", "scheduling-hl7:\(p.mllp)"])
            try launch("scheduling", ["simulate", "scheduling", "--port", "\(p.scheduling)", "--mllp", "127.0.0.1:\(p.mllp)",
                                      "--fhir-url", "\(server)/ingest/scheduling-fhir", "--saas-url", "\(server)/ingest/scheduling-saas",
                                      "--saas-secret", DemoWorkspace.secrets["scheduling/saas_webhook_secret"]!])
        } catch {
            for child in children.reversed() { child.stop() }
            throw error
        }
        return children
    }
}
