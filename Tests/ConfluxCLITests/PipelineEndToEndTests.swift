import Crypto
import Foundation
import Testing

/// Ingest → queue → workers → plugins → ack / retry / dead letter → replay, through the real binary.
@Suite(.serialized) struct PipelineEndToEndTests {
    static func event(_ id: String, _ extra: String = "") -> Data {
        Data(#"{"id":"\#(id)","type":"appointment.completed","data":{"appointment_id":"APT-\#(id)"\#(extra)}}"#.utf8)
    }

    @Test func acceptedMessagesAreProcessedRetriedAndDeadLettered() async throws {
        let server = try ServerProcess()
        #expect(try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: Self.event("a")).status == 202)
        #expect(try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: Self.event("b", #","fail_until":2"#)).status == 202)
        let dead = try await server.post("/ingest/clinic-webhook", contentType: "application/json",
                                         body: Self.event("c", #","permanent":"no product for 99999""#))
        let deadId = try #require(dead.json["id"] as? String)

        let listed = try await server.waitUntil { messages in
            messages.filter { ["done", "dead"].contains($0["status"] as? String) }.count == 3
        }
        let byStatus = Dictionary(grouping: listed) { $0["status"] as? String ?? "?" }
        #expect(byStatus["done"]?.count == 2)
        #expect(byStatus["dead"]?.count == 1)
        #expect(byStatus["done"]?.first { ($0["ordering_key"] as? String) == "APT-b" }?["attempts"] as? Int == 3)

        // The dead letter carries its history: over the admin API and the CLI.
        let shown = try await server.get("/api/dlq/\(deadId)")
        #expect(shown.status == 200)
        let history = try #require(shown.json["attempt_history"] as? [[String: Any]])
        #expect(history.count == 1)
        // The connector saw the server's environment as ctx.env (serve's default, dev).
        #expect((history.first?["error_message"] as? String)?.contains("partner rejected: no product for 99999 (on dev)") == true,
                "\(history)")
        let cli = try ConfluxBinary.run(["dlq", "list", "--data", server.dataDirectory])
        #expect(cli.stdout.contains(deadId))

        // Fix the partner side (the sink accepts it now), restart gracefully, replay: same id, same correlation id.
        let correlation = shown.json["correlation_id"] as? String
        #expect(server.stop() == 0)
        try server.write("plugins/sink/plugin.lua", ServerProcess.sink.replacingOccurrences(of: "if data.permanent then", with: "if false then"))
        try server.start()
        let replay = try ConfluxBinary.run(["dlq", "replay", deadId, "--data", server.dataDirectory])
        #expect(replay.status == 0, "\(replay.stderr)")
        let after = try await server.waitUntil { messages in
            messages.first { $0["id"] as? String == deadId }?["status"] as? String == "done"
        }
        let replayed = try #require(after.first { $0["id"] as? String == deadId })
        #expect(replayed["status"] as? String == "done")
        #expect(replayed["correlation_id"] as? String == correlation)
    }

    /// A connector failing 30% of its calls retryably: every message completes, and each message's recorded attempts
    /// are exactly the calls the connector saw (recomputed here from the same hash the sink uses).
    @Test func aConnectorFailingThirtyPercentOfCallsStillCompletesEverything() async throws {
        let server = try ServerProcess()
        let count = 300
        var ids: [String] = []
        try await withThrowingTaskGroup(of: String.self) { group in
            for n in 0..<count {
                group.addTask {
                    let reply = try await server.post("/ingest/clinic-webhook", contentType: "application/json",
                                                      body: Self.event("f\(n)", #","flaky":true"#))
                    guard reply.status == 202, let id = reply.json["id"] as? String else {
                        throw ServerProcess.Failure(description: "event f\(n) got \(reply.status)")
                    }
                    return id
                }
            }
            for try await id in group { ids.append(id) }
        }
        let listed = try await server.waitUntil(timeout: 60) { $0.filter { $0["status"] as? String == "done" }.count == count }
        #expect(listed.filter { $0["status"] as? String == "done" }.count == count)
        var calls = 0, failures = 0
        for message in listed {
            let id = try #require(message["id"] as? String)
            // The first attempt whose hash byte is not under 77 succeeds (the 5th always does).
            let expected = (1...5).first { attempt in
                attempt == 5 || Self.firstHashByte("\(id)#\(attempt)") >= 77
            }!
            #expect(message["attempts"] as? Int == expected, "\(id): \(message["attempts"] ?? "nil") attempts, expected \(expected)")
            calls += expected
            failures += expected - 1
        }
        // The failure rate the connector produced is the 30% asked for (a loose band: 300 messages).
        let rate = Double(failures) / Double(calls)
        #expect((0.2...0.4).contains(rate), "failure rate \(rate)")
    }

    static func firstHashByte(_ text: String) -> Int {
        Int(Array(SHA256.hash(data: Data(text.utf8)))[0])
    }

    @Test func adminAPIReplaysAndPurges() async throws {
        let server = try ServerProcess()
        for n in 0..<3 {
            _ = try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: Self.event("p\(n)", #","permanent":"x""#))
        }
        _ = try await server.waitUntil { $0.filter { $0["status"] as? String == "dead" }.count == 3 }
        let list = try await server.get("/api/dlq")
        let ids = try #require((list.json["messages"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
        #expect(ids.count == 3)
        let purge = try await server.post("/api/dlq/purge", contentType: "application/json",
                                          body: try JSONSerialization.data(withJSONObject: ["ids": [ids[0], "msg_nope"]]))
        #expect(purge.status == 200)
        #expect(purge.json["done"] as? [String] == [ids[0]])
        #expect(purge.json["not_dead_letters"] as? [String] == ["msg_nope"])
        #expect(try await server.get("/api/dlq/\(ids[0])").status == 404)
        let bad = try await server.post("/api/dlq/replay", contentType: "application/json", body: Data("{}".utf8))
        #expect(bad.status == 400)
    }
}
