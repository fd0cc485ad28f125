import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The demo's own copy of the project: plugins, catalog and flows copied into a fresh folder under the system's
/// temporary directory, partner URLs pointed at this run's simulators, retries shortened so an outage recovers in
/// seconds, schedules left to the demo (it runs them when the day's story needs them), and the secrets sealed in the
/// folder's own vault. Nothing outside the folder is touched; it is removed at the end unless kept.
struct DemoWorkspace {
    let folder: URL
    let ports: Ports
    static let secrets: [String: String] = [
        "odoo/api_key": "demo-odoo-key-5d1e", "payments/webhook_secret": "whsec_demo_payments_7c2a",
        "clearinghouse/api_key": "demo-clearinghouse-key-19b0", "messaging/auth_token": "demo-twilio-token-4f7e",
        "supplier/api_key": "demo-supplier-key-8a31", "supplier/webhook_secret": "whsec_ZGVtby1zdXBwbGllci13ZWJob29rLXNlY3JldA==",
        "scheduling/saas_webhook_secret": "whsec_ZGVtby1zY2hlZHVsaW5nLXNhYXMtc2VjcmV0",
        "messaging/sendgrid_api_key": "SG.demo-sendgrid-key.3b9d",
    ]
    /// The e-mail provider's Event Webhook key pair, made for this run: the simulator signs with the private half,
    /// the vault holds the public half (as an operator pastes SendGrid's verification key).
    let emailEventKey = P256.Signing.PrivateKey()

    struct Ports {
        var server = 0, mllp = 0, odoo = 0, clearinghouse = 0, payments = 0, messaging = 0, supplier = 0, scheduling = 0
        static func reserve() throws -> Ports {
            var ports = Ports()
            var taken = Set<Int>()
            func next() throws -> Int {
                while true { let port = try DemoChild.freePort(); if taken.insert(port).inserted { return port } }
            }
            ports.server = try next(); ports.mllp = try next(); ports.odoo = try next(); ports.clearinghouse = try next()
            ports.payments = try next(); ports.messaging = try next(); ports.supplier = try next(); ports.scheduling = try next()
            return ports
        }
    }

    var data: String { folder.appendingPathComponent("data").path }
    var plugins: String { folder.appendingPathComponent("plugins").path }
    var catalog: String { folder.appendingPathComponent("catalog").path }
    var flows: String { folder.appendingPathComponent("catalog/flows").path }
    func url(_ port: Int) -> String { "http://127.0.0.1:\(port)" }

    static func create(project: URL) throws -> DemoWorkspace {
        let files = FileManager.default
        // mkdtemp: a fresh folder only this user can enter, never one someone prepared at a predictable name.
        var template = Array(files.temporaryDirectory.appendingPathComponent("conflux-demo-XXXXXX").path.utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw CLIError("cannot create the demo's folder under \(files.temporaryDirectory.path) (errno \(errno))")
        }
        let folder = URL(fileURLWithPath: String(cString: template))
        do {
            return try populate(folder, project: project)
        } catch {
            try? files.removeItem(at: folder)
            throw error
        }
    }

    private static func populate(_ folder: URL, project: URL) throws -> DemoWorkspace {
        let files = FileManager.default
        let workspace = DemoWorkspace(folder: folder, ports: try Ports.reserve())
        try files.copyItem(at: project.appendingPathComponent("plugins"), to: URL(fileURLWithPath: workspace.plugins))
        try files.copyItem(at: project.appendingPathComponent("catalog"), to: URL(fileURLWithPath: workspace.catalog))
        try workspace.pointAtSimulators()
        try files.createDirectory(atPath: workspace.data, withIntermediateDirectories: true)
        try DemoChild.run(["secrets", "init-key", "--data", workspace.data])
        for (name, value) in secrets.sorted(by: { $0.key < $1.key }) {
            try DemoChild.run(["secrets", "set", name, "--data", workspace.data], stdin: value)
        }
        try DemoChild.run(["secrets", "set", "messaging/sendgrid_event_key", "--data", workspace.data],
                          stdin: workspace.emailEventKey.publicKey.derRepresentation.base64EncodedString())
        return workspace
    }

    /// The catalog names the partners at their simulators' default ports; this run's ports replace them.
    private func pointAtSimulators() throws {
        let replacements = [
            ("http://127.0.0.1:8069", url(ports.odoo)), ("http://127.0.0.1:18090", url(ports.clearinghouse)),
            ("http://127.0.0.1:18095", url(ports.messaging)), ("http://127.0.0.1:18096", url(ports.supplier)),
            ("http://127.0.0.1:8080", url(ports.server)),
        ]
        for directory in [catalog, flows] {
            for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".yaml") {
                let file = URL(fileURLWithPath: directory).appendingPathComponent(name)
                var text = try String(contentsOf: file, encoding: .utf8)
                for (from, to) in replacements { text = text.replacingOccurrences(of: from, with: to) }
                if directory == flows {
                    text = text.replacing(/retry: \{[^}]*\}/, with: "retry: { max_attempts: 6, base_delay_ms: 300, max_delay_ms: 1500, max_age_s: 3600 }")
                        // The demo runs each schedule when its story needs it (`conflux schedules run`); none is due
                        // by itself during the run (29 February only), so a fresh start catches up nothing.
                        .replacing(/cron: "[^"]*"/, with: #"cron: "0 0 29 2 *""#)
                }
                try Data(text.utf8).write(to: file)
            }
        }
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}
