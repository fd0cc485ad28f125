import Foundation
import Testing

/// `conflux demo` as a newcomer runs it: every flow through the real binary and every simulator (scheduling over
/// MLLP, SaaS and FHIR; patient texts; services with an Odoo outage and a permanent error; the payer's remittance;
/// payments; supply from suggestion to receipt and a stock count), then the summary. Run twice: it must clean up
/// after itself and be re-runnable.
@Suite(.serialized) struct DemoEndToEndTests {
    /// The demo takes tens of seconds: it is waited for on a thread of its own, never on one of the two threads of
    /// Swift's cooperative pool that every other suite of this process needs meanwhile.
    static func demo() async throws -> ConfluxBinary.Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try ConfluxBinary.run(["demo"], timeout: 120) })
            }
        }
    }

    @Test func theDemoRunsTheDayAndPrintsWhatHappenedTwice() async throws {
        for run in 1...2 {
            let before = Set(try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter { $0.hasPrefix("conflux-demo-") })
            let output = try await Self.demo()
            print("demo run \(run):\n\(output.stdout)")
            #expect(output.status == 0, "\(output.stdout)\n\(output.stderr)")
            let text = output.stdout
            // Appointments: 6 in Odoo's calendar, one cancelled (archived), two rescheduled at least.
            #expect(text.contains("calendar events  6 (1 cancelled,"), "\(text)")
            #expect(text.contains("patients         7 minimal partners") || text.contains("patients         6 minimal partners"), "\(text)")
            // Services: four invoices posted and paid (the outage retried), one dead letter naming the unknown code.
            #expect(text.components(separatedBy: "posted  total").count - 1 == 4, "\(text)")
            #expect(text.contains("svc-N1001  posted  total $143.50  due $0.00    paid, claim partial"), "\(text)")
            #expect(text.contains("ehr-events                  4 done, 4 after retries, 1 dead"), "\(text)")
            #expect(text.contains("service code 99499 has no product"), "\(text)")
            // Texts: confirmations and changes to consenting patients only; the reminder; nothing after STOP.
            let texts = text.components(separatedBy: "== Texts to patients")[1].components(separatedBy: "==")[0]
            #expect(texts.contains("***0188") && texts.contains("reminder"), "\(texts)")
            #expect(!texts.contains("***0142") && !texts.contains("***0166"), "no consent through HL7: \(texts)")
            #expect(texts.components(separatedBy: "***0117").count - 1 == 1, "one text before STOP, none after: \(texts)")
            // E-mail: after her STOP to texts, Lucia Alvarez (who also agreed to e-mail) hears of the change by e-mail; the
            // provider's signed delivery events come back (email-events) and land in Odoo's chatter.
            let emails = text.components(separatedBy: "== E-mails to patients")[1].components(separatedBy: "==")[0]
            #expect(emails.contains("l***@example.org  Northside Clinic - South: your appointment"), "\(emails)")
            #expect(text.contains("email-events                4 done") || text.contains("email-events                6 done"), "\(text)")
            // Supply: a suggestion per site, the north one confirmed, sent, delivered and received; the count's drift a to-do.
            #expect(text.contains(" north  purchase  total") && text.contains("supplier: delivered"), "\(text)")
            #expect(text.contains("receipt  WH/IN/00001 done"), "\(text)")
            #expect(text.contains("to-do "), "\(text)")
            #expect(text.contains("Dead letters") && text.contains("Where to look next"))
            if let match = text.firstMatch(of: /Done in (\d+\.\d) s\./) { #expect(Double(match.1)! < 60, "\(text)") } else { Issue.record("no duration") }
            let after = Set(try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter { $0.hasPrefix("conflux-demo-") })
            #expect(after.subtracting(before).isEmpty, "the demo left \(after.subtracting(before))")
        }
    }
}
