import Formats
import Foundation
@testable import Pipeline
import Store
import Testing

@Suite struct IngestTests {
    static let flow = try! FlowLoader.parse(FlowLoaderTests.valid.replacingOccurrences(of: "[application/json]", with: "[application/json, x-application/hl7-v2+er7, application/xml]"),
                                            file: "f.yaml", pluginExists: FlowLoaderTests.exists).get()
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    static func prepare(_ contentType: String?, _ body: String, headers: [String: String] = [:]) -> Result<NewMessage, IngestRejection> {
        IngestPreparation.prepare(IngestRequest(contentType: contentType, headers: headers, body: Array(body.utf8)),
                                  flow: flow, id: "m1", now: now)
    }

    @Test func acceptsJSONAndExtractsKeys() throws {
        let message = try Self.prepare("application/json; charset=utf-8", #"{"appointment":{"id":"APT-1"}}"#,
                                       headers: ["Webhook-Id": "wh_9", "Authorization": "Bearer secret", "X-Correlation-Id": "corr-1"]).get()
        #expect(message.idempotencyKey == "wh_9")
        #expect(message.orderingKey == "APT-1")
        #expect(message.correlationId == "corr-1")
        #expect(message.contentType == "application/json")
        #expect(message.headers["authorization"] == nil)
        #expect(message.headers["webhook-id"] == "wh_9")
    }

    @Test func theQueryStringIsKeptUnderANameNoHeaderCanHave() throws {
        let request = IngestRequest(contentType: "application/json", headers: [":query": "forged=1"], body: Array("{}".utf8),
                                    query: "ref=APT-7%3Areminder&kind=a+b")
        let message = try IngestPreparation.prepare(request, flow: Self.flow, id: "m1", now: Self.now).get()
        #expect(message.headers[IngestPreparation.queryKey] == "ref=APT-7%3Areminder&kind=a+b")
        let plain = try Self.prepare("application/json", "{}", headers: [":query": "forged=1"]).get()
        #expect(plain.headers[IngestPreparation.queryKey] == nil)
    }

    /// A Twilio source is keyed by the signature (what Twilio signs), never by an unsigned header; a query too long
    /// to keep whole is refused.
    @Test func aTwilioSourceIsKeyedByItsSignatureAndLongQueriesAreRefused() throws {
        var flow = Self.flow
        flow.source.auth = FlowDefinition.Auth(scheme: .twilio, secrets: ["messaging/auth_token"], toleranceSeconds: 300,
                                               publicURL: "https://conflux.example/ingest/x")
        let request = IngestRequest(contentType: "application/json", headers: ["X-Twilio-Signature": "kvajT1Ptam85bY51eRf/AJRuM3w=",
                                                                              "Idempotency-Key": "attacker-chosen"], body: Array("{}".utf8))
        #expect(try IngestPreparation.prepare(request, flow: flow, id: "m1", now: Self.now).get().idempotencyKey == "kvajT1Ptam85bY51eRf/AJRuM3w=")
        let long = IngestRequest(contentType: "application/json", headers: [:], body: Array("{}".utf8), query: String(repeating: "a", count: 5000))
        guard case .failure(let rejection) = IngestPreparation.prepare(long, flow: Self.flow, id: "m2", now: Self.now) else { Issue.record("accepted"); return }
        #expect(rejection.status == 414 && rejection.code == "query_too_long")
    }

    @Test func queryStringsDecodeAsFormsDo() {
        let pairs = FormURLEncoded.parse("ref=APT-7%3Areminder&kind=a+b&empty=&flag&bad=%zz&utf=%C3%A9")
        #expect(pairs.map { "\($0.0)=\($0.1)" } == ["ref=APT-7:reminder", "kind=a b", "empty=", "flag=", "bad=%zz", "utf=é"])
    }

    @Test func idempotencyKeyHeaderWinsAndTraceparentCorrelates() throws {
        let message = try Self.prepare("application/json", "{}", headers: [
            "Idempotency-Key": "k-1", "webhook-id": "wh_9",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]).get()
        #expect(message.idempotencyKey == "k-1")
        #expect(message.correlationId == "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test(arguments: [
        ("text/csv", "a,b", 415), (nil, "{}", 415), ("application/json", "", 400), ("application/json", #"{"a":"#, 400),
        ("x-application/hl7-v2+er7", "PID|1", 400), ("application/xml", "<a><b></a>", 400),
    ] as [(String?, String, Int)])
    func rejectsWithAClearStatus(contentType: String?, body: String, status: Int) {
        guard case .failure(let rejection) = Self.prepare(contentType, body) else {
            Issue.record("accepted \(body)")
            return
        }
        #expect(rejection.status == status, "\(rejection.message)")
        #expect(!rejection.message.isEmpty)
    }

    @Test func rejectsOversizedBodies() {
        guard case .failure(let rejection) = Self.prepare("application/json", "[" + String(repeating: "1,", count: 40_000) + "1]") else {
            Issue.record("accepted")
            return
        }
        #expect(rejection == .tooLarge(bytes: 80_003, limit: 65_536))
        #expect(rejection.status == 413)
    }

    @Test func rejectsBadHeaders() {
        guard case .failure(let rejection) = Self.prepare("application/json", "{}", headers: ["X-Correlation-Id": "bad id with spaces"]) else {
            Issue.record("accepted")
            return
        }
        #expect(rejection.status == 400)
        #expect(rejection.message.contains("X-Correlation-Id"))
    }

    @Test func concurrentSubmissionsShareCommits() async throws {
        let store = MemoryMessageStore()
        let batcher = IngestBatcher(store: store)
        let outcomes = await withTaskGroup(of: EnqueueOutcome?.self) { group in
            for n in 0..<500 {
                group.addTask {
                    let key = n % 50 == 0 ? "dup" : "k\(n)"
                    return try? await batcher.submit(NewMessage(id: "m\(n)", source: "s", idempotencyKey: key, correlationId: "c",
                                                                contentType: "application/json", body: [], acceptedAt: Self.now))
                }
            }
            var all: [EnqueueOutcome] = []
            for await outcome in group { if let outcome { all.append(outcome) } }
            return all
        }
        #expect(outcomes.count == 500)
        let accepted = outcomes.filter { if case .accepted = $0 { return true } else { return false } }.count
        #expect(accepted == 491) // 450 distinct keys + the first "dup"… 500 - 9 repeats of "dup"
        #expect(await batcher.committed == 500)
        #expect(await batcher.commits < 500)
        #expect(try await store.counts()[.ready] == 491)
    }
}
