import Crypto
import Foundation
import Testing

/// Standard Webhooks signatures at ingress, through the real binary, with the secret from the vault.
@Suite(.serialized) struct WebhookAuthEndToEndTests {
    static let secret = "whsec_" + Data("conflux-test-signing-key-32-bytes!".utf8).base64EncodedString()

    static func sign(id: String, timestamp: Int, body: Data) -> String {
        let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst("whsec_".count)))!)
        let content = Data("\(id).\(timestamp).".utf8) + body
        return "v1," + Data(HMAC<SHA256>.authenticationCode(for: content, using: key)).base64EncodedString()
    }

    @Test func signedWebhooksAreAcceptedOnceAndEverythingElseIsRefused() async throws {
        let server = try ServerProcess()
        #expect(server.stop() == 0)
        let data = server.dataDirectory
        #expect(try ConfluxBinary.run(["secrets", "init-key", "--data", data]).status == 0)
        #expect(try ConfluxBinary.run(["secrets", "set", "clinic/webhook_secret", "--data", data], stdin: Data(Self.secret.utf8)).status == 0)
        let flow = try String(contentsOf: server.flows.appendingPathComponent("clinic.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "  ordering_key: /data/appointment_id", with: """
                  ordering_key: /data/appointment_id
                  auth:
                    scheme: standard-webhooks
                    secrets: [clinic/webhook_secret]
                """)
        try server.write("flows/clinic.yaml", flow)
        try server.start()

        let body = PipelineEndToEndTests.event("w1")
        let now = Int(Date().timeIntervalSince1970)
        func post(_ body: Data, id: String = "msg_2Kq", timestamp: Int = now, signature: String? = nil,
                  extra: [String: String] = [:]) async throws -> ServerProcess.Reply {
            var headers = ["webhook-id": id, "webhook-timestamp": String(timestamp),
                           "webhook-signature": signature ?? Self.sign(id: id, timestamp: timestamp, body: body)]
            headers.merge(extra) { $1 }
            return try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: body, headers: headers)
        }

        let first = try await post(body)
        #expect(first.status == 202, "\(first.json)")
        // The same delivery again — even with a new, unsigned Idempotency-Key — is the same message.
        let again = try await post(body, extra: ["Idempotency-Key": "attacker-chosen"])
        #expect(again.status == 200 && again.json["id"] as? String == first.json["id"] as? String, "\(again.json)")

        let tampered = try await post(PipelineEndToEndTests.event("w1", #","amount":1000000"#), signature: Self.sign(id: "msg_2Kq", timestamp: now, body: body))
        #expect(tampered.status == 401)
        #expect((tampered.json["error"] as? [String: Any])?["code"] as? String == "signature_mismatch")
        let old = try await post(body, id: "msg_old", timestamp: now - 3600)
        #expect((old.json["error"] as? [String: Any])?["code"] as? String == "timestamp_out_of_tolerance")
        let unsigned = try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: body)
        #expect(unsigned.status == 401)
        let message = ((unsigned.json["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains("webhook-"), "\(message)")
        #expect(try server.listedMessages().count == 1)
        #expect(server.stop() == 0)
        let log = String(decoding: try Data(contentsOf: server.log), as: UTF8.self)
        #expect(log.contains("webhook refused"))
        #expect(!log.contains(String(Self.secret.dropFirst(6))))
    }
}
