import Foundation

/// The end of the demo: what flowed where (messages per source, retries, dead letters and why), what Odoo now holds,
/// what the SMS provider and the supplier saw, and where to look next.
struct DemoSummary {
    var messages: [[String: Any]] = []
    var dead: [[String: Any]] = []
    var odoo: [String: [[String: Any]]] = [:]
    var texts: [[String: Any]] = []
    var emails: [[String: Any]] = []
    var supplierOrders: [[String: Any]] = []
    var data = ""

    static func messages(_ server: String) async throws -> [[String: Any]] {
        let reply = try await DemoHTTP.get(server + "/api/messages?limit=1000")
        return ((reply.json as? [String: Any])?["messages"] as? [[String: Any]]) ?? []
    }

    static func collect(workspace: DemoWorkspace) async throws -> DemoSummary {
        var summary = DemoSummary(data: workspace.data)
        let server = workspace.url(workspace.ports.server)
        summary.messages = try await messages(server)
        for message in summary.messages where message["status"] as? String == "dead" {
            if let id = message["id"] as? String, let shown = try await DemoHTTP.get(server + "/api/dlq/\(id)").json as? [String: Any] {
                summary.dead.append(shown)
            }
        }
        let state = try await DemoHTTP.get(workspace.url(workspace.ports.odoo) + "/_sim/state").json as? [String: Any]
        for (model, records) in (state?["models"] as? [String: Any]) ?? [:] { summary.odoo[model] = records as? [[String: Any]] ?? [] }
        let messaging = try await DemoHTTP.get(workspace.url(workspace.ports.messaging) + "/_sim/state").json as? [String: Any]
        summary.texts = (messaging?["messages"] as? [[String: Any]]) ?? []
        summary.emails = (messaging?["emails"] as? [[String: Any]]) ?? []
        summary.supplierOrders = ((try await DemoHTTP.get(workspace.url(workspace.ports.supplier) + "/_sim/state").json as? [String: Any])?["orders"] as? [[String: Any]]) ?? []
        return summary
    }

    func render(elapsed: Duration, kept: Bool) -> String {
        var out: [String] = ["", "== What flowed where"]
        var bySource: [String: (done: Int, dead: Int, retried: Int)] = [:]
        for message in messages {
            let source = message["source"] as? String ?? "?"
            var entry = bySource[source] ?? (0, 0, 0)
            if message["status"] as? String == "done" { entry.done += 1 }
            if message["status"] as? String == "dead" { entry.dead += 1 }
            if (message["attempts"] as? Int ?? 0) > 1 { entry.retried += 1 }
            bySource[source] = entry
        }
        for (source, entry) in bySource.sorted(by: { $0.key < $1.key }) {
            out.append(pad("  \(source)", 30) + "\(entry.done) done" + (entry.retried > 0 ? ", \(entry.retried) after retries" : "")
                       + (entry.dead > 0 ? ", \(entry.dead) dead" : ""))
        }

        out.append("")
        out.append("== What Odoo now holds")
        let events = odoo["calendar.event"] ?? []
        let byStatus = Dictionary(grouping: events, by: { $0["x_status"] as? String ?? "?" }).map { "\($0.value.count) \($0.key)" }.sorted()
        let expected = events.filter { !["cancelled", "no_show"].contains($0["x_status"] as? String ?? "") }.compactMap { $0["x_expected_revenue"] as? Double }.reduce(0, +)
        out.append("  calendar events  \(events.count) (\(byStatus.joined(separator: ", "))), expected revenue \(money(expected))")
        let patients = (odoo["res.partner"] ?? []).filter { ($0["ref"] as? String ?? "").hasPrefix("MRN-") }
        out.append("  patients         \(patients.count) minimal partners (name and MRN only)")
        for invoice in (odoo["account.move"] ?? []).sorted(by: { ($0["ref"] as? String ?? "") < ($1["ref"] as? String ?? "") }) {
            out.append("  invoice \(pad(invoice["name"] as? String ?? "?", 17)) \(pad(invoice["ref"] as? String ?? "?", 10)) \(pad(invoice["state"] as? String ?? "?", 7)) total \(pad(money(invoice["amount_total"] as? Double ?? 0), 8)) due \(pad(money(invoice["amount_residual"] as? Double ?? 0), 8)) \(invoice["payment_state"] as? String ?? "?")"
                       + ((invoice["x_claim_status"] as? String).map { $0 == "none" ? "" : ", claim \($0)" } ?? ""))
        }
        let payments = odoo["account.payment"] ?? []
        out.append("  payments         \(payments.count) posted, \(money(payments.compactMap { $0["amount"] as? Double }.reduce(0, +))) (payer and patients)")
        for order in odoo["purchase.order"] ?? [] {
            out.append("  purchase \(pad(order["name"] as? String ?? "?", 8)) \(pad(order["x_site"] as? String ?? "?", 6)) \(pad(order["state"] as? String ?? "?", 9)) total \(pad(money(order["amount_total"] as? Double ?? 0), 8)) supplier: \(order["x_supplier_status"] as? String ?? "?")")
        }
        for picking in odoo["stock.picking"] ?? [] {
            out.append("  receipt  \(picking["name"] as? String ?? "?") \(picking["state"] as? String ?? "?") (origin \(picking["origin"] as? String ?? "?"))")
        }
        let notes = (odoo["mail.message"] ?? []).count
        out.append("  chatter notes    \(notes) (SMS and e-mail delivery status, supplier acknowledgements, on their records)")
        for activity in odoo["mail.activity"] ?? [] {
            out.append("  to-do            \(activity["summary"] as? String ?? "?")")
        }

        out.append("")
        out.append("== Texts to patients (SMS provider)")
        if texts.isEmpty { out.append("  none") }
        for text in texts {
            let to = text["to"] as? String ?? ""
            out.append("  ***\(to.suffix(4))  \((text["body"] as? String ?? "").prefix(90))")
        }
        out.append("  (Maria Okafor and Erik Lindqvist gave no SMS consent through the HL7 feed; Lucia Alvarez replied STOP: no text went to them after)")
        out.append("")
        out.append("== E-mails to patients (e-mail provider)")
        if emails.isEmpty { out.append("  none") }
        for email in emails {
            let to = email["to"] as? String ?? ""
            out.append("  \(to.prefix(1))***@\(to.split(separator: "@").last ?? "")  \(email["subject"] as? String ?? "")")
        }
        if !supplierOrders.isEmpty {
            out.append("")
            out.append("== Supplier portal")
            for order in supplierOrders {
                out.append("  \(order["id"] as? String ?? "?") for \(order["order_ref"] as? String ?? "?") at \(order["site"] as? String ?? "?"): \(order["status"] as? String ?? "?")")
            }
        }

        out.append("")
        out.append("== Dead letters")
        if dead.isEmpty { out.append("  none") }
        for letter in dead {
            let history = letter["attempt_history"] as? [[String: Any]] ?? []
            let error = (history.last?["error_message"] as? String) ?? (letter["last_error"] as? String) ?? "?"
            out.append("  \(letter["id"] as? String ?? "?") (\(letter["source"] as? String ?? "?"), \(history.count) attempt(s)): \(error.prefix(220))")
        }

        out.append("")
        out.append("== Where to look next")
        if kept {
            out.append("  conflux messages list --data \(data)")
            out.append("  conflux dlq list --data \(data)        conflux dlq show ID --data \(data)")
            out.append("  conflux audit verify --data \(data)")
        } else {
            out.append("  conflux demo --keep   keeps the store and the logs; then conflux messages list / dlq show ID / audit verify --data DIR")
        }
        out.append("  README.md: flows (catalog/flows), plugins (plugins/*/plugin.lua), conflux serve, conflux simulate …")
        out.append("")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        out.append(String(format: "Done in %.1f s.", seconds))
        return out.joined(separator: "\n")
    }

    func money(_ value: Double) -> String { String(format: "$%.2f", value) }
    func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
}
