import ArgumentParser
import Crypto
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Simulators

/// `conflux simulate odoo|payments|clearinghouse|messaging|supplier`: partner systems' stand-ins, speaking their real protocols with
/// synthetic data and injected faults, for developers without those systems and for the tests and the demo.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a stand-in for a partner system (synthetic data, fault injection).",
        subcommands: [SimulateOdoo.self, SimulatePayments.self, SimulateClearinghouse.self, SimulateMessaging.self, SimulateSupplier.self, SimulateScheduling.self]
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
        let key = try SimulatorServer.required(apiKey, option: "--api-key", environment: "ODOO_SIM_API_KEY")
        let simulator = await OdooSimulator(database: database, login: login, apiKey: key)
        var faults = OdooFaults()
        faults.latency_ms = latencyMs
        faults.fail_rate = failRate
        await simulator.setFaults(faults)
        try await SimulatorServer.run(router: simulator.router(), host: host, port: port, name: "odoo-simulator")
    }
}

struct SimulatePayments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payments",
        abstract: "A payment gateway stand-in (Stripe's shapes): payment intents and refunds, signed webhooks to --webhook-url.",
        discussion: "POST /v1/payment_intents {amount, currency, metadata[service_id]}; POST /v1/refunds {payment_intent, amount}; GET /_sim/state."
    )

    @Option(help: "Port (0 picks a free one).") var port = 8070
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Where webhooks go, e.g. http://127.0.0.1:8080/ingest/payments-webhook.") var webhookURL: String?
    @Option(help: "The webhook signing secret; read from PAYMENTS_SIM_WEBHOOK_SECRET when not given.") var webhookSecret: String?

    func run() async throws {
        let secret = try SimulatorServer.required(webhookSecret, option: "--webhook-secret", environment: "PAYMENTS_SIM_WEBHOOK_SECRET")
        let url = try webhookURL.map { try SimulatorServer.httpURL($0, option: "--webhook-url") }
        let simulator = PaymentsSimulator(webhookURL: url, secret: secret)
        try await SimulatorServer.run(router: simulator.router(), host: host, port: port, name: "payments-simulator")
    }
}

struct SimulateClearinghouse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clearinghouse",
        abstract: "A claims clearinghouse stand-in: X12 837P in (999 back), 835 remittances out to --remit-url.",
        discussion: "POST /x12/837 (bearer API key); POST /_sim/adjudicate {\"claims\":[{\"id\":…,\"paid\":…,\"patient\":…}]}; GET /_sim/state."
    )

    @Option(help: "Port (0 picks a free one).") var port = 8071
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Where 835 remittances go, e.g. http://127.0.0.1:8080/ingest/remittance-835.") var remitURL: String?
    @Option(help: "The API key submitters must send; read from CLEARINGHOUSE_SIM_API_KEY when not given.") var apiKey: String?

    func run() async throws {
        let key = try SimulatorServer.required(apiKey, option: "--api-key", environment: "CLEARINGHOUSE_SIM_API_KEY")
        let url = try remitURL.map { try SimulatorServer.httpURL($0, option: "--remit-url") }
        let simulator = ClearinghouseSimulator(apiKey: key, remitURL: url)
        try await SimulatorServer.run(router: simulator.router(), host: host, port: port, name: "clearinghouse-simulator")
    }
}

struct SimulateMessaging: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messaging",
        abstract: "An SMS provider stand-in (Twilio's Messages API): sends, signed status callbacks, patient replies (STOP/START).",
        discussion: """
        POST /2010-04-01/Accounts/{AccountSid}/Messages.json (Basic AccountSid:AuthToken; To, From, Body, StatusCallback);
        POST /_sim/inbound {"from":"+1…","body":"STOP"}; POST /_sim/faults {"fail_next":2,"fail_status":503}; GET /_sim/state.
        """
    )

    @Option(help: "Port (0 picks a free one).") var port = 18095
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "The account SID clients authenticate as.") var accountSid = "AC00000000000000000000000000000001"
    @Option(help: "The auth token; read from MESSAGING_SIM_AUTH_TOKEN when not given.") var authToken: String?
    @Option(help: "Where patients' replies go, e.g. http://127.0.0.1:8080/ingest/messaging-status.") var inboundURL: String?
    @Option(help: "The clinic's sending number.") var number = "+15555550100"
    @Option(parsing: .upToNextOption, help: "Numbers whose messages end undelivered (30003), and e-mail addresses that bounce.") var unreachable: [String] = []
    @Option(help: "The SendGrid API key e-mail senders must use (enables POST /v3/mail/send); read from MESSAGING_SIM_SENDGRID_KEY when not given.")
    var sendgridApiKey: String?
    @Option(help: "Where the signed SendGrid Event Webhook goes, e.g. http://127.0.0.1:8080/ingest/email-events.") var emailEventsURL: String?
    @Option(help: "The Event Webhook's P-256 signing key, base64 of its raw 32 bytes; read from MESSAGING_SIM_EMAIL_EVENT_KEY, else made now (its public key is printed).")
    var emailEventKey: String?

    func run() async throws {
        let token = try SimulatorServer.required(authToken, option: "--auth-token", environment: "MESSAGING_SIM_AUTH_TOKEN")
        let url = try inboundURL.map { try SimulatorServer.httpURL($0, option: "--inbound-url") }
        var email: MessagingSimulator.Email?
        if let key = sendgridApiKey ?? ProcessInfo.processInfo.environment["MESSAGING_SIM_SENDGRID_KEY"], !key.isEmpty {
            let signing: P256.Signing.PrivateKey
            if let text = emailEventKey ?? ProcessInfo.processInfo.environment["MESSAGING_SIM_EMAIL_EVENT_KEY"] {
                guard let raw = Data(base64Encoded: text), let parsed = try? P256.Signing.PrivateKey(rawRepresentation: raw) else {
                    throw ValidationError("--email-event-key must be base64 of a 32-byte P-256 private key")
                }
                signing = parsed
            } else {
                signing = P256.Signing.PrivateKey()
            }
            print("email events verification key: \(signing.publicKey.derRepresentation.base64EncodedString())")
            email = .init(apiKey: key, eventsURL: try emailEventsURL.map { try SimulatorServer.httpURL($0, option: "--email-events-url") }, signingKeyRaw: signing.rawRepresentation)
        }
        let simulator = MessagingSimulator(accountSid: accountSid, authToken: token, inboundURL: url, unreachable: unreachable, number: number, email: email)
        try await SimulatorServer.run(router: simulator.router(), host: host, port: port, name: "messaging-simulator")
    }
}

struct SimulateSupplier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supplier",
        abstract: "A medical-supply distributor's portal: purchase orders in, signed acknowledgement and delivery webhooks out, site stock counts.",
        discussion: """
        POST /api/v1/orders (Bearer API key, Idempotency-Key); GET /api/v1/sites/{site}/balances; POST /_sim/deliver {"order_ref":…};
        POST /_sim/counts {"site":…,"sku":…,"quantity":…}; POST /_sim/faults {"fail_next":2,"fail_status":503}; GET /_sim/state.
        """
    )

    @Option(help: "Port (0 picks a free one).") var port = 18096
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "The API key buyers must send; read from SUPPLIER_SIM_API_KEY when not given.") var apiKey: String?
    @Option(help: "Where webhooks go, e.g. http://127.0.0.1:8080/ingest/supplier-portal-events.") var webhookURL: String?
    @Option(help: "The Standard Webhooks signing secret (whsec_…); read from SUPPLIER_SIM_WEBHOOK_SECRET when not given.") var webhookSecret: String?
    @Option(help: "Deliver each order this long after acknowledging it (omit: only on POST /_sim/deliver).") var deliverAfterMs: Int?

    func run() async throws {
        let key = try SimulatorServer.required(apiKey, option: "--api-key", environment: "SUPPLIER_SIM_API_KEY")
        let secret = try SimulatorServer.required(webhookSecret, option: "--webhook-secret", environment: "SUPPLIER_SIM_WEBHOOK_SECRET")
        let url = try webhookURL.map { try SimulatorServer.httpURL($0, option: "--webhook-url") }
        let simulator = SupplierSimulator(apiKey: key, webhookURL: url, webhookSecret: secret, deliverAfterMilliseconds: deliverAfterMs)
        try await SimulatorServer.run(router: simulator.router(), host: host, port: port, name: "supplier-simulator")
    }
}

struct SimulateScheduling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduling",
        abstract: "The clinics' scheduling system: appointments made through its API reach Conflux as HL7 v2 over MLLP, FHIR or SaaS JSON.",
        discussion: """
        POST /appointments {"channel":"hl7|fhir|saas","site":"north","service":{"code":"99213"},"start":"2026-11-24T09:30:00-05:00",
        "minutes":30,"patient":{"mrn":…,"family_name":…,"given_name":…,"phone":"+1…","sms_opt_in":true}};
        POST /appointments/{id}/reschedule|cancel|no-show|complete; POST /patients; POST /_sim/replay {"count":2}; GET /_sim/state.
        """
    )

    @Option(help: "Port (0 picks a free one).") var port = 18097
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Conflux's MLLP listener, HOST:PORT.") var mllp: String?
    @Option(help: "Where FHIR Appointment webhooks go.") var fhirURL: String?
    @Option(help: "Where the SaaS JSON webhooks go.") var saasURL: String?
    @Option(help: "The SaaS webhooks' Standard Webhooks secret (whsec_…); read from SCHEDULING_SIM_WEBHOOK_SECRET when not given.")
    var saasSecret: String?
    @Option(help: "The clinics' UTC offset in minutes (-300: Eastern Standard Time).") var utcOffsetMinutes = -300

    func run() async throws {
        var target: (String, Int)?
        if let mllp {
            let parts = mllp.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else { throw ValidationError("--mllp must be HOST:PORT, got '\(mllp)'") }
            target = (String(parts[0]), port)
        }
        let endpoints = SchedulingSimulator.Endpoints(
            mllp: target, fhirURL: try fhirURL.map { try SimulatorServer.httpURL($0, option: "--fhir-url") },
            saasURL: try saasURL.map { try SimulatorServer.httpURL($0, option: "--saas-url") },
            saasSecret: saasSecret ?? ProcessInfo.processInfo.environment["SCHEDULING_SIM_WEBHOOK_SECRET"])
        let simulator = SchedulingSimulator(endpoints: endpoints, utcOffsetMinutes: utcOffsetMinutes)
        try await SimulatorServer.run(router: simulator.router(), host: host, port: port, name: "scheduling-simulator")
    }
}

enum SimulatorServer {
    /// A credential from its option or, so it need not appear in a process listing, from the environment.
    static func required(_ value: String?, option: String, environment name: String) throws -> String {
        guard let value = value ?? ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw ValidationError("give it with \(option) or \(name)")
        }
        return value
    }

    static func httpURL(_ text: String, option: String) throws -> URL {
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("\(option) must be an http(s) URL, got '\(text)'")
        }
        return url
    }

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
