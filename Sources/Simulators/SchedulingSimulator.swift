import Formats
import Foundation
import Hummingbird
import NIOCore

/// `conflux simulate scheduling`: the clinics' scheduling system. Appointments are made through its control API and
/// it tells Conflux about each change the way scheduling systems do: HL7 v2 SIU/ADT over MLLP (one connection, each
/// message acknowledged before the next), FHIR R4 Appointment webhooks, or a scheduling SaaS's JSON webhooks (signed,
/// Standard Webhooks). `POST /appointments` books (S12), `POST /appointments/{id}/reschedule {"start":…}` (S13),
/// `/cancel` (S15), `/no-show` (S26), `/complete`; `POST /patients` registers (A04); `POST /_sim/replay {"count":N}`
/// sends the last N messages again, newest first (out of order); `GET /_sim/state` lists appointments and deliveries.
public actor SchedulingSimulator {
    public struct Endpoints: Sendable {
        public var mllp: (host: String, port: Int)?
        public var fhirURL: URL?
        public var saasURL: URL?
        public var saasSecret: String?
        public init(mllp: (host: String, port: Int)?, fhirURL: URL?, saasURL: URL?, saasSecret: String?) {
            self.mllp = mllp
            self.fhirURL = fhirURL
            self.saasURL = saasURL
            self.saasSecret = saasSecret
        }
    }

    struct Patient: Sendable {
        var mrn: String, family: String, given: String
        var phone: String?, email: String?, smsOptIn: Bool?, emailOptIn: Bool? = nil
    }

    struct Appointment: Sendable {
        var id: String, channel: String, site: String, code: String, text: String
        var start: Date, minutes: Int, status: String, version: Int
        var patient: Patient
    }

    /// What was sent, kept for replays and the state page.
    struct Sent: Sendable {
        var channel: String, kind: String, appointment: String?, payload: String, result: String
    }

    let endpoints: Endpoints
    let offset: TimeZone
    var appointments: [String: Appointment] = [:]
    var order: [String] = []
    var sent: [Sent] = []
    var counter = 0
    /// Makes control ids, webhook ids and appointment ids unique across restarts of the simulator (a persistent
    /// Conflux store would take a reused id for a redelivery).
    let run = String(Int(Date().timeIntervalSince1970) % 100_000_000, radix: 36).uppercased()

    public init(endpoints: Endpoints, utcOffsetMinutes: Int) {
        self.endpoints = endpoints
        offset = TimeZone(secondsFromGMT: utcOffsetMinutes * 60) ?? .gmt
    }

    public nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("appointments") { request, _ in await self.book(try await Self.object(request)) }
        router.post("appointments/:id/:action") { request, context in
            await self.change(context.parameters.get("id") ?? "", action: context.parameters.get("action") ?? "", try await Self.object(request))
        }
        router.post("patients") { request, _ in await self.register(try await Self.object(request)) }
        router.post("_sim/replay") { request, _ in await self.replay(count: try await Self.object(request)["count"]?.int ?? 1) }
        router.get("_sim/state") { _, _ in await self.state() }
        return router
    }

    static func object(_ request: Request) async throws -> JSONValue {
        let text = try await MessagingSimulator.text(request)
        return text.isEmpty ? .object([:]) : try JSONValue.parse(Array(text.utf8))
    }

    // MARK: control API

    func book(_ body: JSONValue) async -> Response {
        guard let patient = Self.patient(body["patient"]) else {
            return Self.problem("patient: mrn, family_name and given_name are required")
        }
        guard let start = body["start"]?.string.flatMap(Self.parse) else { return Self.problem("start: an ISO 8601 date-time is required") }
        let channel = body["channel"]?.string ?? "hl7"
        guard ["hl7", "fhir", "saas"].contains(channel) else { return Self.problem("channel: one of hl7, fhir, saas") }
        counter += 1
        let id = body["id"]?.string ?? "APT-\(run)-\(counter)"
        guard id.wholeMatch(of: /[A-Za-z0-9._-]{1,40}/) != nil else { return Self.problem("id: letters, digits, '.', '_' or '-' (at most 40)") }
        guard appointments[id] == nil else { return Self.problem("id: appointment \(id) exists") }
        let appointment = Appointment(id: id, channel: channel, site: body["site"]?.string ?? "north",
                                      code: body["service"]?["code"]?.string ?? "99213", text: body["service"]?["text"]?.string ?? "Office visit",
                                      start: start, minutes: body["minutes"]?.int ?? 30, status: "booked", version: 1, patient: patient)
        appointments[id] = appointment
        order.append(id)
        return await emit(appointment, kind: "booked")
    }

    func change(_ id: String, action: String, _ body: JSONValue) async -> Response {
        guard var appointment = appointments[id] else { return Self.problem("no appointment \(id)", status: .notFound) }
        switch action {
        case "reschedule":
            guard let start = body["start"]?.string.flatMap(Self.parse) else { return Self.problem("start: an ISO 8601 date-time is required") }
            appointment.start = start
            appointment.status = "booked"
        case "cancel": appointment.status = "cancelled"
        case "no-show": appointment.status = "noshow"
        case "complete": appointment.status = "fulfilled"
        default: return Self.problem("action: one of reschedule, cancel, no-show, complete", status: .notFound)
        }
        appointment.version += 1
        appointments[id] = appointment
        let kind = ["reschedule": "rescheduled", "cancel": "cancelled", "no-show": "no_show", "complete": "completed"][action]!
        return await emit(appointment, kind: kind)
    }

    func register(_ body: JSONValue) async -> Response {
        guard let patient = Self.patient(body["patient"] ?? body) else { return Self.problem("patient: mrn, family_name and given_name are required") }
        guard let mllp = endpoints.mllp else { return Self.problem("registration is sent over HL7 v2: start the simulator with --mllp") }
        counter += 1
        let message = HL7Builder(zone: offset, control: "SCHED\(run)-\(counter)").registration(patient)
        let result = Self.exchange(message, mllp)
        sent.append(Sent(channel: "hl7", kind: "patient.registered", appointment: nil, payload: message, result: result))
        return OdooSimulator.json(.ok, .object(["mrn": .string(patient.mrn), "result": .string(result)]))
    }

    func replay(count: Int) async -> Response {
        var results: [JSONValue] = []
        for item in sent.suffix(max(0, count)).reversed() {
            let result = await deliver(channel: item.channel, payload: item.payload, appointment: item.appointment)
            sent.append(Sent(channel: item.channel, kind: item.kind + " (replayed)", appointment: item.appointment, payload: item.payload, result: result))
            results.append(.object(["kind": .string(item.kind), "result": .string(result)]))
        }
        return OdooSimulator.json(.ok, .array(results))
    }

    func state() -> Response {
        OdooSimulator.json(.ok, .object([
            "appointments": .array(order.compactMap { appointments[$0] }.map { a in
                .object(["id": .string(a.id), "channel": .string(a.channel), "site": .string(a.site), "status": .string(a.status),
                         "start": .string(Self.iso(a.start, offset)), "service": .string(a.code), "mrn": .string(a.patient.mrn)])
            }),
            "deliveries": .array(sent.map { .object(["channel": .string($0.channel), "kind": .string($0.kind),
                                                     "appointment": $0.appointment.map { .string($0) } ?? .null, "result": .string($0.result)]) }),
        ]))
    }

    // MARK: sending

    func emit(_ appointment: Appointment, kind: String) async -> Response {
        counter += 1
        let payload: String
        switch appointment.channel {
        case "hl7": payload = HL7Builder(zone: offset, control: "SCHED\(run)-\(counter)").scheduling(appointment, kind: kind)
        case "fhir": payload = SchedulingPayloads.fhir(appointment, zone: offset)
        default: payload = SchedulingPayloads.saas(appointment, kind: kind, zone: offset, eventID: "wh_sched_\(run)_\(counter)")
        }
        let result = await deliver(channel: appointment.channel, payload: payload, appointment: appointment.id)
        sent.append(Sent(channel: appointment.channel, kind: "appointment.\(kind)", appointment: appointment.id, payload: payload, result: result))
        return OdooSimulator.json(.ok, .object(["id": .string(appointment.id), "status": .string(appointment.status), "result": .string(result)]))
    }

    /// "AA", "AE …", "AR …" for HL7; "HTTP 202" for webhooks; "error: …" when nothing answered.
    func deliver(channel: String, payload: String, appointment: String?) async -> String {
        switch channel {
        case "hl7":
            guard let mllp = endpoints.mllp else { return "error: no --mllp endpoint" }
            return Self.exchange(payload, mllp)
        case "fhir":
            guard let url = endpoints.fhirURL else { return "error: no --fhir-url" }
            let (status, _) = await WebhookSender.post(url, body: Data(payload.utf8), headers: ["Content-Type": "application/fhir+json"])
            return "HTTP \(status)"
        default:
            guard let url = endpoints.saasURL else { return "error: no --saas-url" }
            let id = (try? JSONValue.parse(Array(payload.utf8)))?["id"]?.string ?? UUID().uuidString
            let headers = endpoints.saasSecret.map { WebhookSender.standardWebhooksHeaders(id: id, body: Data(payload.utf8), secret: $0) }
                ?? ["Content-Type": "application/json"]
            let (status, _) = await WebhookSender.post(url, body: Data(payload.utf8), headers: headers)
            return "HTTP \(status)"
        }
    }

    /// One connection per message keeps the simulator simple; the acknowledgement code (and its text) is the result.
    static func exchange(_ message: String, _ mllp: (host: String, port: Int)) -> String {
        do {
            let ack = try MLLPClient(host: mllp.host, port: mllp.port).exchange(message)
            let msa = ack.split(separator: "\r").first { $0.hasPrefix("MSA|") }?.split(separator: "|", omittingEmptySubsequences: false) ?? []
            let code = msa.count > 1 ? String(msa[1]) : "?"
            let err = ack.split(separator: "\r").first { $0.hasPrefix("ERR|") }.map { " " + $0 } ?? ""
            return code + err
        } catch {
            return "error: \(error)"
        }
    }

    static func patient(_ value: JSONValue?) -> Patient? {
        guard let value, let mrn = value["mrn"]?.string, let family = value["family_name"]?.string, let given = value["given_name"]?.string else { return nil }
        return Patient(mrn: mrn, family: family, given: given, phone: value["phone"]?.string, email: value["email"]?.string,
                       smsOptIn: value["sms_opt_in"].flatMap { if case .bool(let b) = $0 { return b } else { return nil } },
                       emailOptIn: value["email_opt_in"].flatMap { if case .bool(let b) = $0 { return b } else { return nil } })
    }

    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)
    }

    static func iso(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        return formatter.string(from: date)
    }

    static func problem(_ message: String, status: HTTPResponse.Status = .unprocessableContent) -> Response {
        OdooSimulator.json(status, .object(["error": .string(message)]))
    }
}

/// HL7 v2.5.1 SIU and ADT messages as a scheduling system sends them (ER7, CR segment separators).
struct HL7Builder {
    let zone: TimeZone
    let control: String
    static let events = ["booked": "S12", "rescheduled": "S13", "modified": "S14", "cancelled": "S15", "no_show": "S26", "completed": "S14"]

    func dtm(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyyMMddHHmmssZ"
        return formatter.string(from: date)
    }

    func escape(_ text: String) -> String {
        HL7Acknowledgement.escape(text, .standard)
    }

    /// MSH-9.3 is the message structure: SIU_S12 for every SIU event, ADT_A01 for A04 (HL7 v2.5.1 table 0354).
    func msh(_ type: String, _ event: String) -> String {
        let structure = type == "SIU" ? "SIU_S12" : "ADT_A01"
        return "MSH|^~\\&|NSCHED|NORTHSIDE|CONFLUX|NORTHSIDE|\(dtm(Date()))||\(type)^\(event)^\(structure)|\(control)|P|2.5.1"
    }

    func pid(_ p: SchedulingSimulator.Patient) -> String {
        var telecom: [String] = []
        if let phone = p.phone { telecom.append("\(escape(phone))^PRN^CP") }
        if let email = p.email { telecom.append("^NET^Internet^\(escape(email))") }
        return "PID|1||\(escape(p.mrn))^^^NORTHSIDE^MR||\(escape(p.family))^\(escape(p.given))||||||||\(telecom.joined(separator: "~"))"
    }

    /// PD1-12 protection indicator: Y when the patient refused contact, N when they agreed, empty when unknown.
    func pd1(_ p: SchedulingSimulator.Patient) -> String {
        "PD1||||||||||||" + (p.smsOptIn.map { $0 ? "N" : "Y" } ?? "")
    }

    func scheduling(_ a: SchedulingSimulator.Appointment, kind: String) -> String {
        let event = Self.events[kind] ?? "S14"
        let stop = a.start.addingTimeInterval(Double(a.minutes) * 60)
        let status = ["booked": "Booked", "cancelled": "Cancelled", "noshow": "Noshow", "fulfilled": "Complete"][a.status] ?? "Booked"
        return [
            msh("SIU", event),
            "SCH|PL-\(escape(a.id))|\(escape(a.id))|||||ROUTINE^Routine^HL70276||\(a.minutes)|min|^^\(a.minutes)^\(dtm(a.start))^\(dtm(stop))||||||||||||||\(status)",
            "TQ1|1||||||\(dtm(a.start))|\(dtm(stop))",
            pid(a.patient), pd1(a.patient),
            "RGS|1|A",
            "AIS|1|A|\(escape(a.code))^\(escape(a.text))^CPT|\(dtm(a.start))|||\(a.minutes)|min||\(status)",
            "AIL|1|A|\(escape(a.site.uppercased()))-EX1^^^\(escape(a.site))|||\(dtm(a.start))|||\(a.minutes)|min||\(status)",
        ].joined(separator: "\r")
    }

    func registration(_ p: SchedulingSimulator.Patient) -> String {
        [msh("ADT", "A04"), "EVN|A04|\(dtm(Date()))", pid(p), pd1(p), "PV1|1|O"].joined(separator: "\r")
    }
}
