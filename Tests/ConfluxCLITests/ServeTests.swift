import Foundation
import Testing

/// `conflux serve` over real HTTP.
@Suite(.serialized) struct ServeTests {
    static let event = Data(#"{"id":"wh_1","type":"appointment.completed","data":{"appointment_id":"APT-1"}}"#.utf8)

    @Test func acceptsAfterCommitAndAnswersDuplicatesWithTheFirstId() async throws {
        let server = try ServerProcess()
        let first = try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: Self.event,
                                          headers: ["webhook-id": "wh_1", "X-Correlation-Id": "corr-42"])
        #expect(first.status == 202)
        #expect(first.json["status"] as? String == "accepted")
        let id = try #require(first.json["id"] as? String)
        #expect(first.json["correlation_id"] as? String == "corr-42")
        // Durable at the 202: a separate process reads it from the file.
        let listed = try server.listedMessages()
        #expect(listed.count == 1)
        #expect(listed.first?["id"] as? String == id)
        #expect(listed.first?["ordering_key"] as? String == "APT-1")
        #expect(listed.first?["correlation_id"] as? String == "corr-42")

        let again = try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: Self.event,
                                          headers: ["webhook-id": "wh_1"])
        #expect(again.status == 200)
        #expect(again.json["status"] as? String == "duplicate")
        #expect(again.json["id"] as? String == id)
        let viaHeader = try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: Self.event,
                                              headers: ["Idempotency-Key": "order-7"])
        #expect(viaHeader.status == 202)
        #expect(try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: Self.event,
                                      headers: ["Idempotency-Key": "order-7"]).status == 200)
        #expect(try server.listedMessages().count == 2)
    }

    @Test func badRequestsGetTheirStatusAndAJSONReasonAndEnqueueNothing() async throws {
        let server = try ServerProcess(maxBodyBytes: 1024)
        let cases: [(String, String?, Data, Int, String)] = [
            ("/ingest/unknown", "application/json", Self.event, 404, "unknown_source"),
            ("/ingest/clinic-webhook", "text/csv", Data("a,b".utf8), 415, "unsupported_media_type"),
            ("/ingest/clinic-webhook", nil, Self.event, 415, "unsupported_media_type"),
            ("/ingest/clinic-webhook", "application/json", Data(#"{"id": "#.utf8), 400, "malformed_body"),
            ("/ingest/clinic-webhook", "application/json", Data(), 400, "empty_body"),
            ("/ingest/clinic-webhook", "application/json", Data(repeating: 0x20, count: 5000), 413, "body_too_large"),
            ("/ingest/clinic-webhook", "x-application/hl7-v2+er7", Data("PID|1||PATID1234".utf8), 400, "malformed_body"),
        ]
        for (path, contentType, body, status, code) in cases {
            let reply = try await server.post(path, contentType: contentType, body: body)
            #expect(reply.status == status, "\(path) \(contentType ?? "nil") → \(reply.status)")
            let error = reply.json["error"] as? [String: Any]
            #expect(error?["code"] as? String == code)
            #expect((error?["message"] as? String)?.isEmpty == false)
        }
        #expect(try server.listedMessages().isEmpty)
    }

    @Test func aTruncatedBodyEnqueuesNothing() async throws {
        let server = try ServerProcess()
        // Announce 500 bytes, send 40, close: the server must not store a partial message.
        let script = """
            import socket
            s = socket.create_connection(("127.0.0.1", \(server.port)))
            s.sendall(b"POST /ingest/clinic-webhook HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 500\\r\\n\\r\\n" + b'{"id":"wh_9","type":"appointment.compl')
            s.close()
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script]
        try python.run()
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(try server.listedMessages().isEmpty)
        #expect(try await server.get("/healthz").status == 200)
    }

    @Test func concurrentIngestsAreAllDurable() async throws {
        let server = try ServerProcess()
        let statuses = await withTaskGroup(of: Int.self) { group in
            for n in 0..<200 {
                group.addTask {
                    let body = Data(#"{"id":"wh_\#(n)","type":"appointment.completed","data":{"appointment_id":"APT-\#(n % 7)"}}"#.utf8)
                    return (try? await server.post("/ingest/clinic-webhook", contentType: "application/json", body: body,
                                                   headers: ["webhook-id": "wh_\(n)"]).status) ?? -1
                }
            }
            var all: [Int] = []
            for await status in group { all.append(status) }
            return all
        }
        #expect(statuses.allSatisfy { $0 == 202 }, "\(statuses.filter { $0 != 202 })")
        #expect(try server.listedMessages().count == 200)
    }

    /// A schedule naming a hook its plugin lacks (the sink defines only deliver) is named at start, with the hooks it
    /// does define; the server still serves.
    @Test func aScheduleWhosePluginLacksTheHookIsNamedAtStart() async throws {
        let server = try ServerProcess()
        #expect(server.stop() == 0)
        let flow = try String(contentsOf: server.flows.appendingPathComponent("clinic.yaml"), encoding: .utf8) + "\n" + """
            schedules:
              - name: nightly
                cron: "0 0 29 2 *"
                plugin: sink
                hook: reconcile
            """
        try server.write("flows/clinic.yaml", flow)
        try server.start()
        #expect(try await server.get("/healthz").status == 200)
        let log = try String(contentsOf: server.log, encoding: .utf8)
        #expect(log.contains("schedule names a hook its plugin does not define") && log.contains("hook=reconcile")
                && log.contains("defined=deliver"), "\(log)")
        #expect(server.stop() == 0)
    }

    @Test func healthAndReadiness() async throws {
        let server = try ServerProcess()
        #expect(try await server.get("/healthz").status == 200)
        let ready = try await server.get("/readyz")
        #expect(ready.status == 200)
        #expect(ready.json["status"] as? String == "ready")
        #expect(ready.json["sources"] as? [String] == ["clinic-webhook"])

        // A plugin that no longer loads makes the server not ready, naming the plugin and the reason; it still
        // accepts messages (they wait in the queue), and is ready again once the plugin is fixed.
        #expect(server.stop() == 0)
        try server.write("plugins/sink/plugin.lua", "return { kind = 'connector', deliver = function( end }")
        try server.start()
        let broken = try await server.get("/readyz")
        #expect(broken.status == 503)
        #expect(broken.headers["retry-after"] == "5")
        let message = broken.json["error"].flatMap { ($0 as? [String: Any])?["message"] as? String } ?? "\(broken.json)"
        #expect(message.contains("sink") && message.contains("plugin.lua:1"), "\(message)")
        #expect(try await server.post("/ingest/clinic-webhook", contentType: "application/json",
                                      body: Data(#"{"type":"appointment.completed","data":{}}"#.utf8)).status == 202)
        try server.write("plugins/sink/plugin.lua", ServerProcess.sink)
        #expect(try await server.get("/readyz").status == 200)
    }
}
