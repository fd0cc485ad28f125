import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `GET /api/endpoints` and `GET /metrics` of `conflux serve`, with a connector whose partner is down: the circuit
/// opens, and the message is deferred by it rather than retried into the dead-letter queue.
@Suite(.serialized) struct EndpointsAPITests {
    @Test func anOpenCircuitShowsInTheAdminAPIAndMetricsAndDefersTheMessage() async throws {
        let server = try ServerProcess()
        let deadPort = try Self.closedPort()
        let origin = "http://127.0.0.1:\(deadPort)"
        try server.write("plugins/sink/plugin.lua", """
            local http = require("http")
            return { kind = "connector", deliver = function(op, ctx)
              return http.request{ url = "\(origin)/invoices", timeout_ms = 2000 }.status
            end }
            """)
        try server.writeManifest("sink", kind: "connector", extra: """
            egress:
              - url: \(origin)
                allow_private: true
                rate_limit: { per_second: 5, burst: 10 }
                circuit: { min_requests: 1, open_s: 60 }
            """)
        #expect(server.stop() == 0)
        try server.start()

        let before = try await Self.fetch(server.port, "/api/endpoints")
        #expect(before.text == #"{"endpoints":[{"plugin":"sink@1.0.0","origin":"\#(origin)","state":"closed","failures":0,"requests":0,"opened_at":null,"rate_limit":{"per_second":5,"burst":10,"tokens":10}}]}"#)

        let event = Data(#"{"id":"e1","type":"appointment.completed","data":{"appointment_id":"APT-1"}}"#.utf8)
        #expect(try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: event).status == 202)
        // Attempt 1 cannot connect (the circuit opens: 1 of 1 failed); the next try, after the flow's 10–50 ms backoff,
        // is refused by the open circuit and deferred by its 60 s — without spending an attempt.
        let listed = try await server.waitUntil { ($0.first?["last_error"] as? String)?.contains("circuit open") == true }
        let message = try #require(listed.first)
        #expect(message["status"] as? String == "ready")
        #expect(message["attempts"] as? Int == 1)
        try await Task.sleep(for: .seconds(1))
        #expect(try server.listedMessages().first?["attempts"] as? Int == 1)  // deferred, not retried into the dead letters
        let history = try await Self.fetch(server.port, "/api/messages/\(message["id"] as? String ?? "")")
        #expect((history.json?["attempt_history"] as? [[String: Any]])?.count == 1, "a deferral records no attempt")

        let after = try await Self.fetch(server.port, "/api/endpoints")
        let endpoint = try #require((after.json?["endpoints"] as? [[String: Any]])?.first)
        #expect(endpoint["state"] as? String == "open")
        #expect(endpoint["failures"] as? Int == 1)
        #expect(endpoint["requests"] as? Int == 1)
        #expect(endpoint["opened_at"] is String)

        let metrics = try await Self.fetch(server.port, "/metrics")
        #expect(metrics.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
        let lines = metrics.text.split(separator: "\n").map(String.init)
        #expect(lines.contains(#"conflux_circuit_state{plugin="sink@1.0.0",origin="\#(origin)"} 2"#))
        #expect(lines.contains(#"conflux_egress_requests_total{plugin="sink@1.0.0",origin="\#(origin)",outcome="failure"} 1"#))
        #expect(lines.contains(#"conflux_egress_requests_total{plugin="sink@1.0.0",origin="\#(origin)",outcome="circuit_open"} 1"#))
        #expect(server.stop() == 0)
    }

    static func fetch(_ port: Int, _ path: String) async throws -> (text: String, json: [String: Any]?, contentType: String?) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        let http = response as? HTTPURLResponse
        #expect(http?.statusCode == 200)
        return (String(decoding: data, as: UTF8.self), (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                http?.value(forHTTPHeaderField: "Content-Type"))
    }

    /// A loopback port nobody listens on (bound, then closed again).
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw ServerProcess.Failure(description: "could not bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
