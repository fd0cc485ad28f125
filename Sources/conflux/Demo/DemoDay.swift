import Foundation

/// The day the demo tells, step by step through the simulators, as the partner systems would: appointments booked,
/// changed and cancelled at two sites (HL7 over MLLP at north; the scheduling SaaS and FHIR at south), a patient
/// replying STOP, the reminder pass, completed services with an Odoo outage in the middle and one service Odoo cannot
/// bill, the payer's remittance, patients paying, and a supply order from suggestion to goods received.
struct DemoDay {
    let workspace: DemoWorkspace

    var scheduling: String { workspace.url(workspace.ports.scheduling) }
    var server: String { workspace.url(workspace.ports.server) }
    var odoo: DemoOdoo { DemoOdoo(url: workspace.url(workspace.ports.odoo), database: "clinic", apiKey: DemoWorkspace.secrets["odoo/api_key"]!) }

    /// Prints each step as it happens; the summary is read from the partners afterwards.
    func run() async throws {
        func step(_ text: String) { print("• " + text) }

        // Clinic hours about a day ahead, inside the reminder pass's 24-48 h window.
        let base = Self.morning(after: Date())
        func at(_ minutes: Int) -> String { Self.iso(Date(timeIntervalSince1970: base + Double(minutes) * 60)) }

        // 1. Appointments.
        let booked: [(String, String, String, String, Int, [String: Any])] = [
            ("APT-N1001", "hl7", "north", "99213", 0, ["mrn": "MRN-N1001", "family_name": "Okafor", "given_name": "Maria", "phone": "+12175550142"]),
            ("APT-N1002", "hl7", "north", "36415", 30, ["mrn": "MRN-N1002", "family_name": "Lindqvist", "given_name": "Erik", "phone": "+12175550166"]),
            ("APT-N1003", "hl7", "north", "93000", 60, ["mrn": "MRN-N1003", "family_name": "Brooks", "given_name": "Dana"]),
            ("APT-S2001", "saas", "south", "90686", 0, ["mrn": "MRN-S2001", "family_name": "Alvarez", "given_name": "Lucia", "phone": "+13125550117", "sms_opt_in": true,
                                                       "email": "lucia.alvarez@example.org", "email_opt_in": true]),
            ("APT-S2002", "saas", "south", "99203", 30, ["mrn": "MRN-S2002", "family_name": "Chen", "given_name": "Wei", "phone": "+13125550188", "sms_opt_in": true]),
            ("APT-S2003", "fhir", "south", "99212", 90, ["mrn": "MRN-S2003", "family_name": "Patel", "given_name": "Anika", "phone": "+13125550199"]),
        ]
        for (id, channel, site, code, offset, patient) in booked {
            try await expectOK(DemoHTTP.post(scheduling + "/appointments", DemoHTTP.json([
                "id": id, "channel": channel, "site": site, "service": ["code": code], "start": at(offset), "minutes": 30, "patient": patient])), "book \(id)")
        }
        step("scheduling booked 6 appointments: 3 at north (HL7 SIU^S12 over MLLP), 2 at south (scheduling SaaS webhooks), 1 at south (FHIR Appointment)")
        try await expectOK(DemoHTTP.post(scheduling + "/appointments/APT-N1002/reschedule", DemoHTTP.json(["start": at(120)])), "reschedule")
        try await expectOK(DemoHTTP.post(scheduling + "/appointments/APT-N1003/cancel", "{}"), "cancel")
        try await expectOK(DemoHTTP.post(scheduling + "/appointments/APT-S2002/reschedule", DemoHTTP.json(["start": at(150)])), "reschedule")
        let replayed = try await DemoHTTP.post(scheduling + "/_sim/replay", #"{"count":2}"#)
        step("north rescheduled APT-N1002 (S13) and cancelled APT-N1003 (S15); south rescheduled APT-S2002; the last two messages were sent again, newest first (\(replayed.text.components(separatedBy: "\"kind\"").count - 1) redeliveries)")
        try await settle()

        // 2. A patient opts out, then her appointment moves: no text goes to her.
        try await expectOK(DemoHTTP.post(workspace.url(workspace.ports.messaging) + "/_sim/inbound", #"{"from":"+13125550117","body":"STOP"}"#), "STOP")
        try await settle()
        try await expectOK(DemoHTTP.post(scheduling + "/appointments/APT-S2001/reschedule", DemoHTTP.json(["start": at(180)])), "reschedule")
        step("Lucia Alvarez replied STOP to the clinic's number; her appointment was then rescheduled (no text may go to her: the change goes by e-mail, which she also agreed to)")
        try await settle()

        // 3. The reminder pass.
        try DemoChild.run(["schedules", "run", "patient-messaging/appointment-reminders", "--data", workspace.data, "--flows", workspace.flows])
        step("the hourly reminder pass ran (appointments 24-48 h ahead, SMS consent on record, not opted out)")
        try await settle()

        // 4. Completed services, with Odoo down for a moment; one service has a code no Odoo product matches.
        try await expectOK(DemoHTTP.post(workspace.url(workspace.ports.odoo) + "/_sim/faults", #"{"fail_next":4,"fail_status":503}"#), "faults")
        let services: [(String, String, String, String, String?, [(String, Double)])] = [
            ("svc-N1001", "north", "MRN-N1001", "Okafor", "XJH884120937", [("99213", 125), ("36415", 18.5)]),
            ("svc-N1002", "north", "MRN-N1002", "Lindqvist", nil, [("36415", 18.5), ("85025", 42.75)]),
            ("svc-S2002", "south", "MRN-S2002", "Chen", nil, [("99203", 140)]),
            ("svc-S2003", "south", "MRN-S2003", "Patel", "HMH551902334", [("99212", 70), ("93000", 65)]),
            ("svc-S2004", "south", "MRN-S2004", "Novak", nil, [("99499", 90)]),
        ]
        for (id, site, mrn, family, member, lines) in services {
            var event: [String: Any] = [
                "type": "service.completed", "id": "evt-\(id)",
                "service": ["id": id, "site": site, "date": String(at(0).prefix(10)), "status": "completed"],
                "patient": ["mrn": mrn, "given_name": "Pat", "family_name": family, "birth_date": "1980-05-01"],
                "lines": lines.map { ["code": $0.0, "quantity": 1, "unit_price": $0.1] }, "currency": "USD",
                "notes": "clinical note that must never reach Odoo",
            ]
            if let member {
                event["payer"] = ["id": "payer-hmh", "name": "Harbor Mutual Health", "member_id": member]
                event["diagnoses"] = ["E11.9"]  // a claim needs one (HI); ehr-events carries them only with a payer
            }
            let reply = try await DemoHTTP.post(server + "/ingest/ehr-events", DemoHTTP.json(event), headers: ["webhook-id": "wh-\(id)"])
            guard reply.status == 202 else { throw CLIError("ehr-events refused \(id): \(reply.status) \(reply.text)") }
        }
        step("the EHR reported 5 completed services while Odoo answered 503 to its next 4 calls; 2 have a payer (837P claims to the clearinghouse); svc-S2004 bills code 99499, which no Odoo product carries")
        try await settle(timeout: 45)

        // 5. The payer's remittance through the clearinghouse; patients pay at the gateway.
        try await expectOK(DemoHTTP.post(workspace.url(workspace.ports.clearinghouse) + "/_sim/adjudicate",
                                         #"{"claims":[{"id":"svc-N1001","paid":110.00,"patient":33.50},{"id":"svc-S2003","paid":135.00,"patient":0}]}"#), "adjudicate")
        step("the payer adjudicated both claims; the clearinghouse sent the 835 remittance to Conflux")
        try await settle()
        for (service, cents) in [("svc-N1001", 3350), ("svc-N1002", 6125), ("svc-S2002", 14000)] {
            try await expectOK(DemoHTTP.post(workspace.url(workspace.ports.payments) + "/v1/payment_intents",
                                             #"{"amount":\#(cents),"currency":"usd","metadata":{"service_id":"\#(service)"}}"#), "payment")
        }
        step("three patients paid their share at the payment gateway (signed webhooks)")
        try await settle()

        // 6. Supply: the suggested order for north is confirmed by the buyer in Odoo, sent to the supplier, acknowledged, delivered.
        try await supply(step: step)
    }

    func supply(step: (String) -> Void) async throws {
        try DemoChild.run(["schedules", "run", "supply/demand-sync", "--data", workspace.data, "--flows", workspace.flows])
        try await settle()
        let orders = try await odoo.records("purchase.order")
        let drafts = orders.filter { $0["state"] as? String == "draft" }
        step("the demand-sync pass turned the booked procedures into \(drafts.count) purchase suggestion(s) in Odoo (draft RFQs per site and day, from the bill of materials per service code)")
        guard let north = drafts.first(where: { $0["x_site"] as? String == "north" }), let id = north["id"] as? Int else { return }
        _ = try await odoo.call("purchase.order", "button_confirm", [[id]])
        step("the buyer confirmed \(north["name"] as? String ?? "the north order") in Odoo")
        try DemoChild.run(["schedules", "run", "supply/confirmed-purchases", "--data", workspace.data, "--flows", workspace.flows])
        try await settle()
        try await Task.sleep(for: .seconds(1)) // the supplier acknowledges at once and delivers 300 ms later
        try await settle()
        step("Conflux sent it to the supplier portal; the supplier acknowledged it and delivered; the receipt was validated in Odoo")
        try await expectOK(DemoHTTP.post(workspace.url(workspace.ports.supplier) + "/_sim/counts", #"{"site":"north","sku":"GLV-NIT-M","quantity":0}"#), "count")
        try DemoChild.run(["schedules", "run", "supply/stock-count", "--data", workspace.data, "--flows", workspace.flows])
        step("the nightly stock count ran: the supplier counted no boxes of gloves left at north, where Odoo holds the one just received")
        try await settle()
    }

    // MARK: helpers

    func expectOK(_ reply: DemoHTTP.Reply, _ what: String) throws {
        guard (200..<300).contains(reply.status) else { throw CLIError("\(what): HTTP \(reply.status) \(reply.text.prefix(300))") }
        if reply.text.contains("\"result\":\"error") || reply.text.contains("\"result\":\"AR") || reply.text.contains("\"result\":\"AE") {
            throw CLIError("\(what): the partner was refused: \(reply.text.prefix(300))")
        }
    }

    /// Waits until nothing is ready, leased or waiting for a retry (every message done or dead) and stays so briefly.
    func settle(timeout: TimeInterval = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var quiet = 0
        while Date() < deadline {
            let messages = try await DemoSummary.messages(server)
            if !messages.isEmpty, messages.allSatisfy({ ["done", "dead"].contains($0["status"] as? String ?? "") }) {
                quiet += 1
                if quiet >= 3 { return }
            } else { quiet = 0 }
            try await Task.sleep(for: .milliseconds(150))
        }
        throw CLIError("messages were still in flight after \(Int(timeout)) s")
    }

    /// The first half hour at least 24 h 5 min away that falls in clinic hours (08:00-14:00 Eastern, the day's
    /// appointments spanning three hours after it), so every appointment is inside the reminder pass's 24-48 h window.
    static func morning(after now: Date) -> TimeInterval {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: -5 * 3600)!
        let earliest = now.timeIntervalSince1970 + 24 * 3600 + 300
        let candidate = (earliest / 1800).rounded(.up) * 1800
        let hour = calendar.component(.hour, from: Date(timeIntervalSince1970: candidate))
        if (8..<14).contains(hour) { return candidate }
        var day = calendar.startOfDay(for: Date(timeIntervalSince1970: candidate))
        if hour >= 14 { day = day.addingTimeInterval(86400) }
        return day.addingTimeInterval(8 * 3600).timeIntervalSince1970
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: -5 * 3600)
        return formatter.string(from: date)
    }
}
