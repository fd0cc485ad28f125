import Foundation
import Testing

/// The scheduling flows through the real binary: the repository's plugins, catalog and flows, `conflux serve` with an
/// MLLP listener, and `conflux simulate odoo`. Messages arrive out of order, as partners send them.
@Suite(.serialized) struct SchedulingEndToEndTests {
    static let apiKey = "odoo-sim-key-sched-61c0"

    struct Setup {
        let odoo: SimulatorProcess
        let server: ServerProcess
        let mllp: Int

        init() throws {
            let odoo = try SimulatorProcess(["odoo", "--api-key", SchedulingEndToEndTests.apiKey])
            self.odoo = odoo
            let server = try ServerProcess(extraArguments: ["--mllp", "scheduling-hl7:0"]) { server in
                let files = FileManager.default, root = ConfluxBinary.repositoryRoot
                try files.copyItem(at: root.appendingPathComponent("plugins"), to: server.plugins)
                try files.copyItem(at: root.appendingPathComponent("catalog"), to: server.folder.appendingPathComponent("catalog"))
                try files.copyItem(at: root.appendingPathComponent("catalog/flows"), to: server.flows)
                let manifest = server.folder.appendingPathComponent("catalog/odoo-1.0.0.yaml")
                try Data(try String(contentsOf: manifest, encoding: .utf8).replacingOccurrences(of: "http://127.0.0.1:8069", with: odoo.url).utf8)
                    .write(to: manifest)
                for flow in try files.contentsOfDirectory(atPath: server.flows.path) {
                    let url = server.flows.appendingPathComponent(flow)
                    let text = try String(contentsOf: url, encoding: .utf8).replacing(/cron: "[^"]*"/, with: #"cron: "0 0 29 2 *""#)
                    try Data(text.utf8).write(to: url)
                }
            }
            let data = server.dataDirectory
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            guard try ConfluxBinary.run(["secrets", "init-key", "--data", data]).status == 0,
                  try ConfluxBinary.run(["secrets", "set", "odoo/api_key", "--data", data], stdin: Data(SchedulingEndToEndTests.apiKey.utf8)).status == 0 else {
                throw ServerProcess.Failure(description: "cannot store the test secrets")
            }
            try server.start()
            let match = try server.waitForOutput(/mllp scheduling-hl7 listening on tcp:\/\/127\.0\.0\.1:(\d+)/)
            self.server = server
            mllp = Int(match.1)!
        }

        func events() async throws -> [[String: Any]] { try await odoo.records("calendar.event") }
    }

    /// An SIU message for appointment `id`: `event` S12/S13/S15, sent at `sent` (MSH-7), starting at `start` (local -05:00).
    static func siu(_ event: String, id: String, control: String, sent: String, start: String, mrn: String = "MRN-7001") -> String {
        let status = event == "S15" ? "Cancelled" : "Booked"
        return [
            "MSH|^~\\&|NSCHED|NORTHSIDE|CONFLUX|NORTHSIDE|\(sent)-0500||SIU^\(event)^SIU_\(event)|\(control)|P|2.5.1",
            "SCH|PL-\(id)|\(id)||||ROUTINE^Routine^HL70276|||30|min|^^30^\(start)00-0500^||||||||||||||\(status)",
            "TQ1|1||||||\(start)00-0500|",
            "PID|1||\(mrn)^^^NORTHSIDE^MR||Okafor^Maria||||||||(217) 555-0142^PRN^CP",
            "AIS|1|A|99213^Office visit^CPT|\(start)00-0500|||30|min",
            "AIL|1|A|NORTH-EX1^^^north",
        ].joined(separator: "\r")
    }

    @Test func aCancelBeforeItsBookingAndTwoCrossingReschedulesEndInTheRightState() async throws {
        let setup = try Setup()
        let sender = try MLLPEndToEndTests.Sender(port: setup.mllp)
        // APT-7001: the cancellation (sent 10:00) reaches Conflux before the booking (sent 09:00).
        #expect(sender.exchange(Self.siu("S15", id: "APT-7001", control: "C-2", sent: "202611231000", start: "202611240930")).hasSuffix("MSA|AA|C-2"))
        #expect(sender.exchange(Self.siu("S12", id: "APT-7001", control: "C-1", sent: "202611230900", start: "202611240930")).hasSuffix("MSA|AA|C-1"))
        // APT-7002: booked 09:00; moved to 11:00 (sent 09:30) and then to 14:00 (sent 09:45); the later move arrives first.
        #expect(sender.exchange(Self.siu("S12", id: "APT-7002", control: "C-3", sent: "202611230900", start: "202611240900")).hasSuffix("MSA|AA|C-3"))
        #expect(sender.exchange(Self.siu("S13", id: "APT-7002", control: "C-5", sent: "202611230945", start: "202611241400")).hasSuffix("MSA|AA|C-5"))
        #expect(sender.exchange(Self.siu("S13", id: "APT-7002", control: "C-4", sent: "202611230930", start: "202611241100")).hasSuffix("MSA|AA|C-4"))

        let messages = try await setup.server.waitUntil(timeout: 30) { $0.count == 5 && $0.allSatisfy { ["done", "dead"].contains($0["status"] as? String ?? "") } }
        #expect(messages.allSatisfy { $0["status"] as? String == "done" }, "\(messages)")
        let events = try await setup.events()
        let cancelled = try #require(events.first { $0["x_appointment_ref"] as? String == "APT-7001" }, "\(events)")
        #expect(cancelled["x_status"] as? String == "cancelled" && cancelled["active"] as? Bool == false, "\(cancelled)")
        let moved = try #require(events.first { $0["x_appointment_ref"] as? String == "APT-7002" }, "\(events)")
        #expect(moved["start"] as? String == "2026-11-24 19:00:00" && moved["x_status"] as? String == "rescheduled", "\(moved)")
        #expect(moved["x_expected_revenue"] as? Double == 125, "\(moved)")
        #expect(events.count == 2)
        // One patient, one partner, shared by both appointments: only the name and the MRN reached Odoo.
        let partners = try await setup.odoo.records("res.partner").filter { $0["ref"] as? String == "MRN-7001" }
        #expect(partners.count == 1 && (partners.first?["phone"] as? Bool) == false, "\(partners)")
        print("scheduling — APT-7001 \(cancelled["x_status"]!) active \(cancelled["active"]!); APT-7002 \(moved["x_status"]!) start \(moved["start"]!) UTC, expected revenue \(moved["x_expected_revenue"]!)")
        #expect(setup.server.stop() == 0)
    }
}
