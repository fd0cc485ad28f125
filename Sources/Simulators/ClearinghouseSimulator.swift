import Crypto
import Formats
import Foundation
import Hummingbird
import NIOCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `conflux simulate clearinghouse`: a claims clearinghouse stand-in. It takes X12 5010 837P claims
/// (`POST /x12/837`, `application/edi-x12`, bearer API key), checks them with the host's strict X12 parser and answers
/// with a 999 implementation acknowledgment; later it adjudicates held claims as the payer would and sends the 835
/// remittance to a configured URL (Conflux's ingest), as a clearinghouse forwards payers' remittances.
/// Synthetic data only. `GET /_sim/state` lists the claims and remittances; `POST /_sim/adjudicate` sends an 835.
public actor ClearinghouseSimulator {
    public struct Claim: Sendable {
        let id: String
        let charge: String
        let payer: String
        let patient: (last: String, first: String, member: String)
        let interchangeControl: String
        var status = "accepted"
    }

    let apiKey: String
    let remitURL: URL?
    var claims: [String: Claim] = [:]
    var order: [String] = []
    var remittances: [(trace: String, status: Int, claims: [String])] = []
    var failNext = 0
    var received = 0
    var interchanges: Set<String> = []

    public init(apiKey: String, remitURL: URL?) {
        self.apiKey = apiKey
        self.remitURL = remitURL
    }

    public nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("x12/837") { request, _ in await self.submit(request) }
        router.get("_sim/state") { _, _ in await self.state() }
        router.post("_sim/faults") { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: 1 << 12)
            let value = body.flatMap { try? JSONValue.parse($0.readableBytesView) }
            await self.setFailNext(value?["fail_next"]?.int ?? 0)
            return Self.json(.ok, .object(["fail_next": .int(value?["fail_next"]?.int ?? 0)]))
        }
        router.post("_sim/adjudicate") { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: 1 << 16)
            return await self.adjudicate(body.flatMap { try? JSONValue.parse($0.readableBytesView) } ?? .object([:]))
        }
        return router
    }

    func setFailNext(_ count: Int) { failNext = count }

    func submit(_ request: Request) async -> Response {
        var request = request
        received += 1
        if failNext > 0 {
            failNext -= 1
            return Response(status: .serviceUnavailable, headers: [.retryAfter: "1", .contentType: "text/plain"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "clearinghouse busy")))
        }
        let authorization = request.headers[.authorization] ?? ""
        guard authorization.lowercased().hasPrefix("bearer "), constantTimeEqual(String(authorization.dropFirst(7)), apiKey) else {
            return Self.json(.unauthorized, .object(["accepted": .bool(false), "errors": .array([.string("invalid API key")])]))
        }
        guard let body = try? await request.collectBody(upTo: 4 << 20) else {
            return Self.json(.contentTooLarge, .object(["accepted": .bool(false), "errors": .array([.string("interchange larger than 4 MiB")])]))
        }
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        let interchange: X12Interchange
        do { interchange = try X12Interchange.parse(text) } catch {
            return reject(["X12 syntax: \(error)"])
        }
        var errors: [String] = []
        var accepted: [String] = []
        for group in interchange.groups {
            if group.functionalCode != "HC" { errors.append("GS01 '\(group.functionalCode)': expected HC (health care claim)") }
            if group.version != "005010X222A1" { errors.append("GS08 '\(group.version)': expected 005010X222A1 (837 professional)") }
            for transaction in group.transactions {
                guard transaction.code == "837" else { errors.append("ST01 '\(transaction.code)': expected 837"); continue }
                var payer = "", last = "", first = "", member = ""
                var claimsWithoutDiagnosis: [String] = [], lastClaim = ""
                for segment in transaction.segments {
                    switch segment.id {
                    // HI belongs to the claim whose CLM came last (loop 2300), where 005010X222A1 requires it.
                    case "HI": claimsWithoutDiagnosis.removeAll { $0 == lastClaim }
                    case "NM1" where segment.value(1) == "PR": payer = segment.value(3)
                    case "NM1" where segment.value(1) == "IL": last = segment.value(3); first = segment.value(4); member = segment.value(9)
                    case "CLM":
                        let id = segment.value(1), charge = segment.value(2)
                        guard !id.isEmpty else { errors.append("segment \(segment.position) (CLM) element CLM01: claim id missing"); continue }
                        guard Double(charge) != nil else {
                            errors.append("segment \(segment.position) (CLM) element CLM02: '\(charge)' is not an amount"); continue
                        }
                        claimsWithoutDiagnosis.append(id)
                        lastClaim = id
                        if claims[id] == nil { order.append(id) }
                        claims[id] = Claim(id: id, charge: charge, payer: payer, patient: (last, first, member),
                                           interchangeControl: interchange.controlNumber)
                        accepted.append(id)
                    default: break
                    }
                }
                if payer.isEmpty { errors.append("loop 2010BB: NM1*PR (payer) missing in transaction \(transaction.controlNumber)") }
                for id in claimsWithoutDiagnosis { errors.append("loop 2300: claim \(id) has no HI (diagnosis), which 005010X222A1 requires") }
            }
        }
        guard errors.isEmpty, !accepted.isEmpty else { return reject(errors.isEmpty ? ["no CLM segment: nothing to adjudicate"] : errors) }
        interchanges.insert(interchange.controlNumber)
        return Self.json(.ok, .object(["accepted": .bool(true), "claim_ids": .array(accepted.map { .string($0) }),
                                       "ack": .string(acknowledgment(interchange, accepted: true))]))
    }

    func reject(_ errors: [String]) -> Response {
        Self.json(.unprocessableContent, .object(["accepted": .bool(false), "errors": .array(errors.map { .string($0) })]))
    }

    /// A 999 (implementation acknowledgment) for the first group: AK1, one AK2/IK5 per transaction, AK9.
    func acknowledgment(_ interchange: X12Interchange, accepted: Bool) -> String {
        let group = interchange.groups.first
        var body = ["ST*999*0001*005010X231A1", "AK1*HC*\(group?.controlNumber ?? "0")*005010X222A1"]
        for transaction in group?.transactions ?? [] {
            body += ["AK2*837*\(transaction.controlNumber)*005010X222A1", "IK5*\(accepted ? "A" : "R")"]
        }
        let count = group?.transactions.count ?? 0
        body.append("AK9*\(accepted ? "A" : "R")*\(count)*\(count)*\(accepted ? count : 0)")
        body.append("SE*\(body.count + 1)*0001")
        let control = String(format: "%09d", (Int(interchange.controlNumber) ?? 0) % 1_000_000_000)
        return (["ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*NORTHSIDECLN   *261121*1200*^*00501*\(control)*0*T*:",
                 "GS*FA*CLEARINGHOUSE*NORTHSIDECLN*20261121*1200*1*X*005010X231A1"] + body + ["GE*1*1", "IEA*1*\(control)"])
            .joined(separator: "~") + "~"
    }

    /// Adjudicates claims as the payer: `{"claims":[{"id":"svc-1001","paid":150.00,"patient":36.25}]}` (all held claims
    /// paid in full when no list is given); builds the 835 and POSTs it to the remittance URL.
    func adjudicate(_ request: JSONValue) async -> Response {
        var decisions: [(Claim, Double, Double)] = []
        if let list = request["claims"]?.array {
            for item in list {
                guard let id = item["id"]?.string, let claim = claims[id] else {
                    return Self.json(.notFound, .object(["error": .string("no claim \(item["id"]?.text ?? "?") was submitted")]))
                }
                let charge = Double(claim.charge) ?? 0
                decisions.append((claim, item["paid"]?.number ?? charge, item["patient"]?.number ?? 0))
            }
        } else {
            decisions = order.compactMap { claims[$0] }.filter { $0.status == "accepted" }.map { ($0, Double($0.charge) ?? 0, 0) }
        }
        guard !decisions.isEmpty else { return Self.json(.ok, .object(["sent": .bool(false), "reason": .string("no claims to adjudicate")])) }
        let trace = "CH" + String(format: "%010d", remittances.count + 1)
        let text = Self.remittance(decisions.map { ($0.0.id, $0.0.charge, $0.1, $0.2, $0.0.payer, $0.0.patient) }, trace: trace)
        for (claim, _, _) in decisions { claims[claim.id]?.status = "adjudicated" }
        var status = 0
        if let remitURL {
            var post = URLRequest(url: remitURL)
            post.httpMethod = "POST"
            post.setValue("application/edi-x12", forHTTPHeaderField: "Content-Type")
            post.setValue("835-\(trace)", forHTTPHeaderField: "Idempotency-Key")
            post.httpBody = Data(text.utf8)
            status = ((try? await URLSession.shared.data(for: post))?.1 as? HTTPURLResponse)?.statusCode ?? 0
        }
        remittances.append((trace, status, decisions.map(\.0.id)))
        return Self.json(.ok, .object(["sent": .bool(remitURL != nil), "status": .int(status), "trace": .string(trace), "x12": .string(text)]))
    }

    static func amount(_ value: Double) -> String { String(format: "%.2f", value) }

    /// An 835 paying `claims` (charge, paid, patient responsibility as PR-1, the rest a CO-45 contractual adjustment).
    static func remittance(_ claims: [(id: String, charge: String, paid: Double, patient: Double, payer: String,
                                       person: (last: String, first: String, member: String))], trace: String) -> String {
        let total = claims.map(\.paid).reduce(0, +)
        var body = ["ST*835*0001", "BPR*I*\(amount(total))*C*ACH*CCP*01*021000021*DA*123456789*1512345678**01*071000013*DA*987654321*20261205",
                    "TRN*1*\(trace)*1512345678", "DTM*405*20261204", "N1*PR*\(claims.first?.payer.isEmpty == false ? claims[0].payer : "PAYER")",
                    "N1*PE*NORTHSIDE CLINICS*XX*1234567893", "LX*1"]
        for claim in claims {
            let charge = Double(claim.charge) ?? 0
            let contractual = ((charge - claim.paid - claim.patient) * 100).rounded() / 100
            body.append("CLP*\(claim.id)*\(claim.paid == 0 ? "4" : "1")*\(claim.charge)*\(amount(claim.paid))*\(amount(claim.patient))*12*CH\(trace)\(claim.id.count)")
            body.append("NM1*QC*1*\(claim.person.last)*\(claim.person.first)****MI*\(claim.person.member)")
            var adjustments: [String] = []
            if claim.patient > 0 { adjustments.append("CAS*PR*1*\(amount(claim.patient))") }
            if contractual > 0 { adjustments.append("CAS*CO*45*\(amount(contractual))") }
            body += adjustments
        }
        body.append("SE*\(body.count + 1)*0001")
        return (["ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*NORTHSIDECLN   *261205*0930*^*00501*000004712*0*T*:",
                 "GS*HP*CLEARINGHOUSE*NORTHSIDECLN*20261205*0930*4712*X*005010X221A1"] + body + ["GE*1*4712", "IEA*1*000004712"])
            .joined(separator: "~\n") + "~\n"
    }

    func state() -> Response {
        Self.json(.ok, .object([
            "received": .int(received), "interchanges": .int(interchanges.count),
            "claims": .array(order.compactMap { claims[$0] }.map { claim in
                .object(["id": .string(claim.id), "charge": .string(claim.charge), "payer": .string(claim.payer), "status": .string(claim.status)])
            }),
            "remittances": .array(remittances.map { .object(["trace": .string($0.trace), "status": .int($0.status),
                                                             "claims": .array($0.claims.map { .string($0) })]) }),
        ]))
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        OdooSimulator.json(status, value)
    }
}
