import Crypto
import Foundation
import Testing

/// The revenue cycle through the real binary: the repository's own plugins, catalog and flows, `conflux serve` in
/// dev, and `conflux simulate odoo` as Odoo. Each test prints its accounting.
@Suite(.serialized) struct RevenueCycleEndToEndTests {
    /// With a quote and a backslash, as a password may have: the JSON-RPC connector splices it into a JSON string, and
    /// only the host's escaping (`secret.json`) keeps that JSON valid and the key intact.
    static let apiKey = #"odoo-sim-key-4f1c"9a\77e0"#
    static let apiKeyInJSON = apiKey.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    static let webhookSecret = "whsec_revenue_cycle_test_secret_0b7e"
    static let clearinghouseKey = "ch-sim-key-93be1d"

    /// A project: the repository's plugins and catalog copied into the server's folder, the odoo entry pointed at the
    /// simulator, retries shortened so a test sees a dead letter in seconds.
    final class Project: @unchecked Sendable {
        let odoo: SimulatorProcess
        let clearinghouse: SimulatorProcess
        let server: ServerProcess
        /// Started on demand (it needs the server's port for its webhooks).
        private(set) var payments: SimulatorProcess?

        /// `attempts`: a flow's attempt budget by its file's name, for a test whose messages wait (retrying) for another
        /// message's effect; every other flow dead-letters after 6 attempts.
        init(protocol odooProtocol: String = "jsonrpc", attempts: [String: Int] = [:]) throws {
            let odoo = try SimulatorProcess(["odoo", "--api-key", RevenueCycleEndToEndTests.apiKey])
            self.odoo = odoo
            // The clearinghouse sends its 835s to the server, whose port is known only later: it is started with a
            // remittance URL on a port reserved now.
            let serverPort = try Self.freePort()
            let clearinghouse = try SimulatorProcess(["clearinghouse", "--api-key", RevenueCycleEndToEndTests.clearinghouseKey,
                                                      "--remit-url", "http://127.0.0.1:\(serverPort)/ingest/remittance-835"])
            self.clearinghouse = clearinghouse
            server = try ServerProcess(extraArguments: ["--port", String(serverPort)]) { server in
                let files = FileManager.default, root = ConfluxBinary.repositoryRoot
                try files.copyItem(at: root.appendingPathComponent("plugins"), to: server.plugins)
                try files.copyItem(at: root.appendingPathComponent("catalog"), to: server.folder.appendingPathComponent("catalog"))
                try files.copyItem(at: root.appendingPathComponent("catalog/flows"), to: server.flows)
                let manifest = server.folder.appendingPathComponent("catalog/odoo-1.0.0.yaml")
                let text = try String(contentsOf: manifest, encoding: .utf8)
                    .replacingOccurrences(of: "http://127.0.0.1:8069", with: odoo.url)
                    .replacingOccurrences(of: "protocol: jsonrpc", with: "protocol: \(odooProtocol)")
                try Data(text.utf8).write(to: manifest)
                let claims = server.folder.appendingPathComponent("catalog/clearinghouse-1.0.0.yaml")
                try Data(try String(contentsOf: claims, encoding: .utf8)
                    .replacingOccurrences(of: "http://127.0.0.1:18090", with: clearinghouse.url).utf8).write(to: claims)
                for flow in try files.contentsOfDirectory(atPath: server.flows.path) {
                    let url = server.flows.appendingPathComponent(flow)
                    let budget = attempts[url.deletingPathExtension().lastPathComponent] ?? 6
                    let text = try String(contentsOf: url, encoding: .utf8)
                        .replacing(/retry: \{[^}]*\}/, with: "retry: { max_attempts: \(budget), base_delay_ms: 150, max_delay_ms: 400, max_age_s: 600 }")
                        // A schedule that was due within the last day is caught up when a server starts, which would
                        // add a run to every test's count: here it is due only on 29 February (runs come from
                        // `conflux schedules run`).
                        .replacing(/cron: "[^"]*"/, with: #"cron: "0 0 29 2 *""#)
                    try Data(text.utf8).write(to: url)
                }
            }
            let data = server.dataDirectory
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            guard try ConfluxBinary.run(["secrets", "init-key", "--data", data]).status == 0,
                  try ConfluxBinary.run(["secrets", "set", "odoo/api_key", "--data", data], stdin: Data(RevenueCycleEndToEndTests.apiKey.utf8)).status == 0,
                  try ConfluxBinary.run(["secrets", "set", "payments/webhook_secret", "--data", data],
                                        stdin: Data(RevenueCycleEndToEndTests.webhookSecret.utf8)).status == 0,
                  try ConfluxBinary.run(["secrets", "set", "clearinghouse/api_key", "--data", data],
                                        stdin: Data(RevenueCycleEndToEndTests.clearinghouseKey.utf8)).status == 0 else {
                throw ServerProcess.Failure(description: "cannot store the test secrets")
            }
            try server.start()
        }

        /// The payment gateway stand-in, sending its signed webhooks to this server.
        func startPayments() throws -> SimulatorProcess {
            let simulator = try SimulatorProcess(["payments", "--webhook-secret", RevenueCycleEndToEndTests.webhookSecret,
                                                  "--webhook-url", "http://127.0.0.1:\(server.port)/ingest/payments-webhook"])
            payments = simulator
            return simulator
        }

        /// A port free now (bound to 0 and released); the server takes it a moment later.
        static func freePort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw ServerProcess.Failure(description: "socket() failed") }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard bound else { throw ServerProcess.Failure(description: "cannot reserve a port") }
            return Int(UInt16(bigEndian: address.sin_port))
        }

        func postService(_ body: String, webhookID: String, contentType: String = "application/json") async throws -> ServerProcess.Reply {
            try await server.post("/ingest/ehr-events", contentType: contentType, body: Data(body.utf8), headers: ["webhook-id": webhookID])
        }

        func postPayment(_ body: String) async throws -> ServerProcess.Reply {
            let timestamp = Int(Date().timeIntervalSince1970)
            let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8),
                                                      using: SymmetricKey(data: Data(RevenueCycleEndToEndTests.webhookSecret.utf8)))
            let signature = "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
            return try await server.post("/ingest/payments-webhook", contentType: "application/json", body: Data(body.utf8),
                                         headers: ["Stripe-Signature": signature])
        }

        func postRemittance(_ text: String) async throws -> ServerProcess.Reply {
            try await server.post("/ingest/remittance-835", contentType: "application/edi-x12", body: Data(text.utf8))
        }

        /// Waits until every message is done or dead (or `timeout`), then returns them.
        func settled(count: Int, timeout: TimeInterval = 40) async throws -> [[String: Any]] {
            try await server.waitUntil(timeout: timeout) { messages in
                messages.count >= count && messages.allSatisfy { ["done", "dead"].contains($0["status"] as? String ?? "") }
            }
        }

        func invoices(ref: String? = nil) async throws -> [[String: Any]] {
            try await odoo.records("account.move").filter { ref == nil || $0["ref"] as? String == ref }
        }

        /// What the run left, for the test's output.
        func accounting(_ title: String) async throws -> String {
            let messages = try server.listedMessages()
            let moves = try await odoo.records("account.move"), payments = try await odoo.records("account.payment")
            let partners = try await odoo.records("res.partner")
            var lines = ["accounting — \(title)"]
            lines.append("  messages \(messages.count): done \(messages.filter { $0["status"] as? String == "done" }.count), dead \(messages.filter { $0["status"] as? String == "dead" }.count), attempts \(messages.map { $0["attempts"] as? Int ?? 0 }.reduce(0, +))")
            for move in moves {
                lines.append("  invoice \(move["name"] ?? "?") ref \(move["ref"] ?? "?") \(move["state"] ?? "?") total \(move["amount_total"] ?? "?") due \(move["amount_residual"] ?? "?") payment \(move["payment_state"] ?? "?") claim \(move["x_claim_status"] ?? "?")")
            }
            for payment in payments {
                lines.append("  payment \(payment["name"] ?? "?") \(payment["payment_type"] ?? "?") \(payment["amount"] ?? "?") memo \(payment["memo"] ?? "?") \(payment["state"] ?? "?")")
            }
            lines.append("  partners \(partners.count) (the clinic included)")
            return lines.joined(separator: "\n")
        }
    }

    static func service(_ id: String, mrn: String = "MRN-0047711", date: String = "2026-11-20") -> String {
        """
        {"type":"service.completed","id":"evt-\(id)","service":{"id":"\(id)","site":"north","date":"\(date)","status":"completed"},
         "patient":{"mrn":"\(mrn)","given_name":"Maria","family_name":"Okafor","email":"m.okafor@example.org","birth_date":"1984-03-17"},
         "payer":{"id":"payer-hmh","name":"Harbor Mutual Health","member_id":"XJH884120937"},"diagnoses":["E11.9","I10"],
         "lines":[{"code":"99213","quantity":1,"unit_price":125.0},{"code":"36415","quantity":1,"unit_price":18.5},
                  {"code":"85025","quantity":1,"unit_price":42.75}],
         "currency":"USD","notes":"clinical note that must never reach Odoo"}
        """
    }

    static func paymentSucceeded(_ service: String, cents: Int, intent: String, event: String) -> String {
        #"{"id":"\#(event)","object":"event","type":"payment_intent.succeeded","created":1795305570,"data":{"object":{"id":"\#(intent)","object":"payment_intent","amount":\#(cents),"amount_received":\#(cents),"currency":"usd","latest_charge":"ch_\#(intent.dropFirst(3))","metadata":{"service_id":"\#(service)"},"status":"succeeded"}}}"#
    }

    /// An 835 with one claim (CLP) for `service`, built segment by segment so SE01 counts right.
    static func remittance(service: String, charged: String, paid: String, patient: String, trace: String) -> String {
        let body = [
            "ST*835*0001", "BPR*I*\(paid)*C*ACH*CCP*01*021000021*DA*123456789*1512345678**01*071000013*DA*987654321*20261205",
            "TRN*1*\(trace)*1512345678", "DTM*405*20261204", "N1*PR*HARBOR MUTUAL HEALTH", "N1*PE*NORTHSIDE CLINICS*XX*1234567893",
            "LX*1", "CLP*\(service)*1*\(charged)*\(paid)*\(patient)*12*HM\(trace)", "NM1*QC*1*OKAFOR*MARIA****MI*XJH884120937",
            "SVC*HC:99213*\(charged)*\(paid)**1", "CAS*PR*1*\(patient)",
        ]
        let segments = ["ISA*00*          *00*          *ZZ*HARBORMUTUAL   *ZZ*NORTHSIDECLN   *261205*0930*^*00501*000004711*0*P*:",
                        "GS*HP*HARBORMUTUAL*NORTHSIDECLN*20261205*0930*4711*X*005010X221A1"]
            + body + ["SE*\(body.count + 1)*0001", "GE*1*4711", "IEA*1*000004711"]
        return segments.joined(separator: "~\n") + "~\n"
    }

    /// The whole cycle with every partner simulated: the service becomes an invoice in Odoo and an 837P at the
    /// clearinghouse; the payer's 835 comes back through the clearinghouse; the patient pays at the gateway.
    @Test func serviceInvoiceClaimRemittanceAndPaymentWithEveryPartnerSimulated() async throws {
        let project = try Project()
        #expect(try await project.postService(Self.service("svc-6001"), webhookID: "wh-6001").status == 202)
        var messages = try await project.settled(count: 1)
        #expect(messages.first?["status"] as? String == "done", "\(messages)")
        let submitted = try await project.clearinghouse.get("/_sim/state") as? [String: Any]
        let claims = submitted?["claims"] as? [[String: Any]] ?? []
        #expect(claims.map { $0["id"] as? String } == ["svc-6001"], "\(String(describing: submitted))")
        #expect(claims.first?["charge"] as? String == "186.25")

        // The payer pays 150.00; the patient owes 36.25. The clearinghouse forwards the 835 to Conflux.
        try await project.clearinghouse.post("/_sim/adjudicate", json: #"{"claims":[{"id":"svc-6001","paid":150.00,"patient":36.25}]}"#)
        messages = try await project.settled(count: 2)
        var invoice = try #require(try await project.invoices(ref: "svc-6001").first)
        #expect(invoice["x_claim_status"] as? String == "partial" && (invoice["amount_residual"] as? Double) == 36.25, "\(invoice)")

        // The patient pays their share at the gateway, which signs and sends the webhook.
        let payments = try project.startPayments()
        try await payments.post("/v1/payment_intents", json: #"{"amount":3625,"currency":"usd","metadata":{"service_id":"svc-6001"}}"#)
        messages = try await project.settled(count: 3)
        print(try await project.accounting("service → invoice + 837P → 835 via the clearinghouse → payment via the gateway"))
        #expect(messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")
        invoice = try #require(try await project.invoices(ref: "svc-6001").first)
        #expect(invoice["payment_state"] as? String == "paid" && (invoice["amount_residual"] as? Double) == 0, "\(invoice)")
        let deliveries = (try await payments.get("/_sim/state") as? [String: Any])?["deliveries"] as? [[String: Any]] ?? []
        #expect(deliveries.map { $0["status"] as? Int } == [202])
        #expect(project.server.stop() == 0)
    }

    /// The gateway misbehaves as gateways do: its API fails once (the caller retries) and it delivers the
    /// `payment_intent.succeeded` webhook twice. The invoice is paid once.
    @Test func aGatewayThatFailsOnceAndDeliversTwicePaysTheInvoiceOnce() async throws {
        let project = try Project()
        #expect(try await project.postService(Self.service("svc-6301"), webhookID: "wh-6301").status == 202)
        _ = try await project.settled(count: 1)
        let payments = try project.startPayments()
        try await payments.post("/_sim/faults", json: #"{"fail_next":1,"fail_status":503,"duplicate_webhooks":1}"#)
        await #expect { try await payments.post("/v1/payment_intents", json: #"{"amount":18625,"currency":"usd","metadata":{"service_id":"svc-6301"}}"#) } throws: {
            "\($0)".contains("answered 503")
        }
        let paid = try await payments.post("/v1/payment_intents", json: #"{"amount":18625,"currency":"usd","metadata":{"service_id":"svc-6301"}}"#)
        #expect(paid.status == 200)
        let deliveries = (try await payments.get("/_sim/state") as? [String: Any])?["deliveries"] as? [[String: Any]] ?? []
        // The second delivery is either refused as a replay (same second, same Stripe-Signature: 401) or accepted
        // (a new timestamp) and then changes nothing: the event id keeps the effect single.
        #expect(deliveries.count == 2 && deliveries.first?["status"] as? Int == 202, "\(deliveries)")
        let accepted = 1 + deliveries.filter { $0["status"] as? Int == 202 }.count
        let messages = try await project.settled(count: accepted)
        #expect(messages.count == accepted && messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages.map { "\($0["source"] ?? "?") \($0["status"] ?? "?") \($0["idempotency_key"] ?? "-")" })")
        let invoice = try #require(try await project.invoices(ref: "svc-6301").first)
        #expect(invoice["payment_state"] as? String == "paid", "\(invoice)")
        #expect(try await project.odoo.records("account.payment").count == 1)
        #expect(project.server.stop() == 0)
    }

    /// Two partial refunds of one payment. Each charge.refunded the gateway sends carries the charge's refunded total
    /// (40.00, then 60.00): Odoo gets a 40.00 and a 20.00 refund, and the second event delivered again adds nothing.
    @Test func twoPartialRefundsEachBookTheirOwnPartOnce() async throws {
        let project = try Project()
        #expect(try await project.postService(Self.service("svc-6401"), webhookID: "wh-6401").status == 202)
        _ = try await project.settled(count: 1)
        let payments = try project.startPayments()
        let paid = try await payments.post("/v1/payment_intents", json: #"{"amount":18625,"currency":"usd","metadata":{"service_id":"svc-6401"}}"#)
        let intent = try #require((try JSONSerialization.jsonObject(with: paid.body) as? [String: Any])?["id"] as? String)
        _ = try await project.settled(count: 2)
        for cents in [4000, 2000] {
            #expect(try await payments.post("/v1/refunds", json: #"{"payment_intent":"\#(intent)","amount":\#(cents)}"#).status == 200)
        }
        var deliveries = (try await payments.get("/_sim/state") as? [String: Any])?["deliveries"] as? [[String: Any]] ?? []
        let second = try #require(deliveries.last?["event"] as? String)
        try await payments.post("/_sim/redeliver", json: #"{"event":"\#(second)"}"#)
        deliveries = (try await payments.get("/_sim/state") as? [String: Any])?["deliveries"] as? [[String: Any]] ?? []
        // The redelivery is refused as a replay (same second, same signature) or accepted as a new message.
        #expect(deliveries.prefix(3).allSatisfy { $0["status"] as? Int == 202 }, "\(deliveries)")
        let accepted = 1 + deliveries.filter { $0["status"] as? Int == 202 }.count
        let messages = try await project.settled(count: accepted)
        print(try await project.accounting("a payment, then two partial refunds, the second delivered twice"))
        #expect(messages.count == accepted && messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")
        let outbound = try await project.odoo.records("account.payment").filter { $0["payment_type"] as? String == "outbound" }
        #expect(outbound.compactMap { $0["amount"] as? Double }.sorted() == [20.0, 40.0], "\(outbound)")
        #expect(project.server.stop() == 0)
    }

    /// An accountant changes things in Odoo by hand; the reconciliation reports each difference as a to-do in Odoo
    /// and corrects nothing. Run again, it finds the same differences and adds no second to-do.
    @Test func reconciliationReportsDriftAsOdooActivitiesAndFixesNothing() async throws {
        let project = try Project()
        for id in ["svc-7001", "svc-7002", "svc-7003"] {
            #expect(try await project.postService(Self.service(id), webhookID: "wh-\(id)").status == 202)
        }
        _ = try await project.settled(count: 3)
        let invoices = try await project.invoices()
        let edited = try #require(invoices.first { $0["ref"] as? String == "svc-7001" }?["id"] as? Int)
        let cancelled = try #require(invoices.first { $0["ref"] as? String == "svc-7002" }?["id"] as? Int)
        // By hand in Odoo: svc-7001 reset to draft and a line repriced; svc-7002 reset to draft and cancelled.
        func rpc(_ model: String, _ method: String, _ args: String) async throws {
            try await project.odoo.post("/jsonrpc", json: #"{"jsonrpc":"2.0","method":"call","id":1,"params":{"service":"object","method":"execute_kw","args":["clinic",2,"\#(Self.apiKeyInJSON)","\#(model)","\#(method)",\#(args),{}]}}"#)
        }
        try await rpc("account.move", "button_draft", "[[\(edited)]]")
        let line = try #require(try await project.odoo.records("account.move.line").first { ($0["move_id"] as? [Any])?.first as? Int == edited }?["id"] as? Int)
        try await rpc("account.move.line", "write", #"[[\#(line)],{"price_unit":100.0}]"#)
        try await rpc("account.move", "action_post", "[[\(edited)]]")
        try await rpc("account.move", "button_draft", "[[\(cancelled)]]")
        try await rpc("account.move", "button_cancel", "[[\(cancelled)]]")

        for round in 1...2 {
            let run = try ConfluxBinary.run(["schedules", "run", "clinic-billing/nightly-reconcile", "--data", project.server.dataDirectory,
                                            "--flows", project.server.flows.path])
            #expect(run.status == 0 && run.stdout.contains("accepted"), "\(run.stdout)\(run.stderr)")
            _ = try await project.settled(count: 3 + round)
            if round == 1 { try await Task.sleep(for: .milliseconds(1100)) }   // the next run is due a second later
        }
        let messages = try project.server.listedMessages()
        print(try await project.accounting("reconciliation after edits by hand in Odoo"))
        #expect(messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")
        let activities = try await project.odoo.records("mail.activity")
        for activity in activities { print("  to-do: \(activity["summary"] ?? "") — \(activity["note"] ?? "")") }
        #expect(activities.count == 2, "one to-do per difference, not one per run: \(activities)")
        #expect(activities.contains { $0["res_id"] as? Int == edited && ($0["note"] as? String ?? "").contains("Expected 186.25, found 161.25") })
        #expect(activities.contains { $0["res_id"] as? Int == cancelled && ($0["note"] as? String ?? "").contains("found cancel") })
        // Nothing was corrected: Odoo still holds what the accountant left.
        #expect(try await project.invoices(ref: "svc-7001").first?["amount_total"] as? Double == 161.25)
        #expect(try await project.invoices(ref: "svc-7002").first?["state"] as? String == "cancel")
        #expect(project.server.stop() == 0)
    }

    @Test func aCompletedServiceBecomesExactlyOnePostedInvoiceEvenWhenRedelivered() async throws {
        let project = try Project()
        #expect(try await project.postService(Self.service("svc-1001"), webhookID: "wh-1").status == 202)
        // The EHR sends the same service again under a new delivery id (a new message): Odoo must not see a second invoice.
        #expect(try await project.postService(Self.service("svc-1001"), webhookID: "wh-1-redelivered").status == 202)
        // And the same visit's FHIR Bundle for another encounter, from the plugin's fixture.
        let bundle = try String(contentsOf: project.server.plugins.appendingPathComponent("ehr-events/fixtures/fhir-bundle-encounter.json"), encoding: .utf8)
        #expect(try await project.postService(bundle, webhookID: "wh-fhir", contentType: "application/fhir+json").status == 202)
        let messages = try await project.settled(count: 3)
        print(try await project.accounting("service → invoice"))
        #expect(messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")

        let invoices = try await project.invoices(ref: "svc-1001")
        try #require(invoices.count == 1, "one invoice for svc-1001, found \(invoices.count)")
        let invoice = invoices[0]
        #expect(invoice["state"] as? String == "posted")
        #expect(invoice["move_type"] as? String == "out_invoice")
        #expect((invoice["amount_total"] as? Double) == 186.25)
        #expect((invoice["name"] as? String)?.hasPrefix("INV/") == true)
        let lines = try await project.odoo.records("account.move.line").filter { ($0["move_id"] as? [Any])?.first as? Int == invoice["id"] as? Int }
        #expect(lines.count == 3)
        #expect(Set(lines.compactMap { $0["price_unit"] as? Double }) == [125.0, 18.5, 42.75])
        #expect(lines.allSatisfy { ($0["product_id"] as? [Any])?.first is Int })
        let partners = try await project.odoo.records("res.partner").filter { $0["ref"] as? String == "MRN-0047711" }
        #expect(partners.count == 1)
        // Data minimisation: no birth date or clinical note reached Odoo.
        let state = String(decoding: try JSONSerialization.data(withJSONObject: try await project.odoo.get("/_sim/state")), as: UTF8.self)
        #expect(!state.contains("1984-03-17") && !state.contains("clinical note"))
        #expect(try await project.invoices().filter { $0["state"] as? String == "posted" }.count == 2, "the FHIR encounter's invoice too")
        #expect(project.server.stop() == 0)
    }

    @Test func remittanceAndPaymentSettleTheInvoiceEvenWhenThePaymentArrivesFirst() async throws {
        // The payment and the 835 retry until the service's invoice exists. Six attempts (at most 1.65 s of backoff,
        // about half that on average) left no margin: the early payment used 5 of them in a quiet run, and a loaded
        // machine (CI runs the other end-to-end suites beside this one) slows the invoice more than the lookups.
        // Forty attempts are several seconds of waiting.
        let project = try Project(attempts: ["patient-payments": 40, "payer-remittance": 40])
        // The patient pays their share before the visit reaches Odoo: the payment waits (retryable) for its invoice.
        let payment = Self.paymentSucceeded("svc-2001", cents: 3625, intent: "pi_3QnB7xK2Lm9PqR4s0kYh8ZtW", event: "evt_pay_1")
        #expect(try await project.postPayment(payment).status == 202)
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await project.odoo.records("account.payment").isEmpty)
        #expect(try await project.postService(Self.service("svc-2001"), webhookID: "wh-2001").status == 202)
        let remit = Self.remittance(service: "svc-2001", charged: "186.25", paid: "150.00", patient: "36.25", trace: "EFT20261205A1")
        #expect(try await project.postRemittance(remit).status == 202)
        var messages = try await project.settled(count: 3)
        #expect(messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")
        // The gateway delivers the same event again (a fresh signature): a new message, and no second payment.
        #expect(try await project.postPayment(payment).status == 202)
        messages = try await project.settled(count: 4)
        print(try await project.accounting("payment before invoice, then the payer's 835"))
        #expect(messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")
        #expect(messages.contains { ($0["attempts"] as? Int ?? 0) > 1 }, "the early payment needed more than one attempt")

        let invoice = try #require(try await project.invoices(ref: "svc-2001").first)
        #expect(invoice["state"] as? String == "posted")
        #expect(invoice["payment_state"] as? String == "paid")
        #expect((invoice["amount_residual"] as? Double ?? -1) == 0)
        #expect(invoice["x_claim_status"] as? String == "partial")
        #expect((invoice["x_payer_paid"] as? Double) == 150.0)
        let payments = try await project.odoo.records("account.payment")
        #expect(payments.count == 2, "the payer's and the patient's, each once: \(payments)")
        #expect(Set(payments.compactMap { $0["amount"] as? Double }) == [150.0, 36.25])
        #expect(payments.allSatisfy { ($0["reconciled_invoice_ids"] as? [Int]) == [invoice["id"] as? Int ?? -1] && $0["state"] as? String == "paid" })
        #expect(project.server.stop() == 0)
    }

    @Test func anOdooOutageRetriesThenDeadLettersAndAReplayDelivers() async throws {
        let project = try Project()
        try await project.odoo.post("/_sim/faults", json: #"{"outage":true}"#)
        #expect(try await project.postService(Self.service("svc-3001"), webhookID: "wh-3001").status == 202)
        var messages = try await project.settled(count: 1)
        let dead = try #require(messages.first)
        #expect(dead["status"] as? String == "dead" && dead["attempts"] as? Int == 6, "\(dead)")
        #expect((dead["last_error"] as? String ?? "").contains("503"), "\(dead)")
        #expect(try await project.invoices().isEmpty)

        // Odoo is back; transient trouble remains (a serialization failure, a 502, a dropped connection, a key refused once).
        try await project.odoo.post("/_sim/faults", json: #"{"serialization_failures":1,"fail_next":1,"fail_status":502}"#)
        let replay = try ConfluxBinary.run(["dlq", "replay", "--all", "--data", project.server.dataDirectory])
        #expect(replay.status == 0, "\(replay.stderr)")
        messages = try await project.server.waitUntil(timeout: 30) { $0.first?["status"] as? String == "done" }
        #expect(messages.first?["status"] as? String == "done", "\(messages)")
        try await project.odoo.post("/_sim/faults", json: #"{"drop_connections":1}"#)
        #expect(try await project.postService(Self.service("svc-3002"), webhookID: "wh-3002").status == 202)
        try await project.odoo.post("/_sim/faults", json: #"{"access_denied":1}"#)
        #expect(try await project.postService(Self.service("svc-3003"), webhookID: "wh-3003").status == 202)
        messages = try await project.settled(count: 3)
        print(try await project.accounting("outage, dead letter, replay; then a dropped connection and a refused key"))
        #expect(messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")
        #expect(try await project.invoices().filter { $0["state"] as? String == "posted" }.count == 3)
        #expect(try await project.invoices(ref: "svc-3001").count == 1)
        #expect(project.server.stop() == 0)
    }

    @Test func anOdooValidationErrorDeadLettersWithOdoosMessageAndReplaysOnceFixed() async throws {
        let project = try Project(protocol: "json2")
        // Finance closed the books up to 2026-10-31; a late service dated in October cannot be posted.
        try await project.odoo.post("/_sim/lock_date", json: #"{"date":"2026-10-31"}"#)
        #expect(try await project.postService(Self.service("svc-4001", date: "2026-10-28"), webhookID: "wh-4001").status == 202)
        #expect(try await project.postService(Self.service("svc-4002"), webhookID: "wh-4002").status == 202)
        var messages = try await project.settled(count: 2)
        let dead = messages.filter { $0["status"] as? String == "dead" }
        try #require(dead.count == 1, "\(messages)")
        let error = dead[0]["last_error"] as? String ?? ""
        #expect(error.contains("lock date 2026-10-31") && error.contains("odoo.exceptions.UserError"), "\(error)")
        // Permanent: dead-lettered on the attempt that met it, not after the budget (an earlier attempt may have lost the
        // race to create the shared patient, which is retryable and leaves no twin).
        #expect((dead[0]["attempts"] as? Int ?? 99) < 6, "\(dead[0])")
        #expect(try await project.odoo.records("res.partner").filter { $0["ref"] as? String == "MRN-0047711" }.count == 1)
        // Nothing was lost or doubled: the late invoice waits as a draft, the other is posted.
        #expect(try await project.invoices(ref: "svc-4001").map { $0["state"] as? String } == ["draft"])
        #expect(try await project.invoices(ref: "svc-4002").map { $0["state"] as? String } == ["posted"])

        try await project.odoo.post("/_sim/lock_date", json: #"{"date":null}"#)
        #expect(try ConfluxBinary.run(["dlq", "replay", "--all", "--data", project.server.dataDirectory]).status == 0)
        messages = try await project.server.waitUntil(timeout: 30) { $0.allSatisfy { $0["status"] as? String == "done" } }
        print(try await project.accounting("Odoo's lock date refuses a late invoice; replay after it moved (JSON-2 API)"))
        #expect(messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")
        #expect(try await project.invoices(ref: "svc-4001").map { $0["state"] as? String } == ["posted"])
        #expect(try await project.invoices().count == 2)
        #expect(project.server.stop() == 0)
    }

    @Test func malformedRemittancesAndFHIRNameTheSegmentOrThePath() async throws {
        let project = try Project()
        let good = Self.remittance(service: "svc-5001", charged: "186.25", paid: "150.00", patient: "36.25", trace: "EFT5001")
        #expect(try await project.postRemittance(good.replacingOccurrences(of: "*150.00*36.25", with: "*15O.00*36.25")).status == 202)
        #expect(try await project.postRemittance(good.replacingOccurrences(of: "SE*12*0001", with: "SE*13*0001")).status == 202)
        let bundle = try String(contentsOf: project.server.plugins.appendingPathComponent("ehr-events/fixtures/fhir-bundle-encounter.json"), encoding: .utf8)
        let broken = bundle.replacingOccurrences(of: #""status": "finished""#, with: #""status": 7"#)
        #expect(broken != bundle)
        #expect(try await project.postService(broken, webhookID: "wh-bad-fhir", contentType: "application/fhir+json").status == 202)
        let messages = try await project.settled(count: 3)
        print(try await project.accounting("malformed inputs"))
        let errors = messages.map { $0["last_error"] as? String ?? "" }
        #expect(messages.allSatisfy { $0["status"] as? String == "dead" && $0["attempts"] as? Int == 1 }, "\(messages)")
        #expect(errors.contains { $0.contains("CLP04") && $0.contains("segment") }, "\(errors)")
        #expect(errors.contains { $0.contains("SE01") && $0.contains("segment") }, "\(errors)")
        #expect(errors.contains { $0.contains("$.entry[") }, "\(errors)")
        #expect(try await project.invoices().isEmpty)
        #expect(project.server.stop() == 0)
    }
}
