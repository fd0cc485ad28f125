import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import Testing

/// Secrets through the real binary: set from stdin, sealed at rest, sent to the partner in a header built from a
/// handle — and found nowhere else: not in the logs, the CLI output, the queue, the dead letters or the database files.
@Suite(.serialized) struct SecretLeakTests {
    static let value = "sk_live_CONFLUX_LEAK_PROBE_7f3a9c"

    /// A partner that records the Authorization header it receives.
    final class Partner: Sendable {
        let seen = Mutex<[String]>([])

        func start() async throws -> (Int, Task<Void, Never>) {
            let router = Router()
            router.post("charge") { request, _ -> Response in
                let auth = request.headers[.authorization] ?? ""
                self.seen.withLock { $0.append(auth) }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
            }
            return await startLocalServer(router)
        }
    }

    @Test func aSecretReachesThePartnerAndNothingElse() async throws {
        let partner = Partner()
        let (partnerPort, partnerTask) = try await partner.start()
        defer { partnerTask.cancel() }
        let server = try ServerProcess()
        #expect(server.stop() == 0)
        let data = server.dataDirectory
        let initKey = try ConfluxBinary.run(["secrets", "init-key", "--data", data])
        #expect(initKey.status == 0, "\(initKey.stderr)")
        let set = try ConfluxBinary.run(["secrets", "set", "partner/token", "--data", data], stdin: Data((Self.value + "\n").utf8))
        #expect(set.status == 0, "\(set.stderr)")
        try server.writeSecretInventory(["partner/token"])
        try server.writeManifest("sink", kind: "connector", extra: """
            egress:
              - url: http://127.0.0.1:\(partnerPort)
                allow_private: true
            secrets: [partner/token]
            """)
        try server.write("plugins/sink/plugin.lua", """
            local http, log, json, conflux = require("http"), require("log"), require("json"), require("conflux")
            return { kind = "connector", deliver = function(op, ctx)
              local token = secret("partner/token")
              local auth = secret.join("Bearer ", token)
              log.info("calling the partner", { auth = tostring(auth), handle = tostring(token) })
              local ok, err = pcall(json.encode, { key = token })
              log.warn("encoding a handle: " .. tostring(err))
              local res = http.request{ method = "POST", url = "http://127.0.0.1:\(partnerPort)/charge",
                                        headers = { Authorization = auth }, json = { amount = 100 } }
              if (op.data or {}).fail then error("failed after the call; auth was " .. tostring(auth)) end
              return { status = res.status }
            end }
            """)
        try server.start()
        for (n, extra) in [(1, ""), (2, #","fail":true"#)] {
            let reply = try await server.post("/ingest/clinic-webhook", contentType: "application/json",
                                              body: PipelineEndToEndTests.event("s\(n)", extra))
            #expect(reply.status == 202)
        }
        let listed = try await server.waitUntil { $0.filter { ["done", "dead"].contains($0["status"] as? String) }.count == 2 }
        #expect(listed.filter { $0["status"] as? String == "done" }.count == 1)
        #expect(partner.seen.withLock { $0 }.allSatisfy { $0 == "Bearer \(Self.value)" })
        #expect(partner.seen.withLock { $0.count } == 2)
        let dead = try #require(listed.first { $0["status"] as? String == "dead" }?["id"] as? String)
        let shown = try ConfluxBinary.run(["dlq", "show", dead, "--data", data])
        #expect(shown.stdout.contains("Bearer secret(partner/token)"), "\(shown.stdout)")
        let secretsList = try ConfluxBinary.run(["secrets", "list", "--data", data])
        #expect(secretsList.stdout.contains("partner/token") && !secretsList.stdout.contains("last used never"), "\(secretsList.stdout)")
        #expect(server.stop() == 0)

        // Everything the run produced: the server's stdout and log, the CLI outputs, every file in the data directory.
        var produced: [(String, Data)] = [("stdout", try Data(contentsOf: server.output)), ("log", try Data(contentsOf: server.log)),
                                          ("dlq show", Data((shown.stdout + shown.stderr).utf8)),
                                          ("secrets list", Data(secretsList.stdout.utf8)), ("secrets set", Data((set.stdout + set.stderr).utf8))]
        for file in try FileManager.default.contentsOfDirectory(atPath: data) {
            produced.append((file, try Data(contentsOf: URL(fileURLWithPath: data).appendingPathComponent(file))))
        }
        let log = String(decoding: try Data(contentsOf: server.log), as: UTF8.self)
        #expect(log.contains("secret(partner/token)"), "the log shows the handle by name")
        #expect(log.contains("cannot encode a secret handle"))
        for (name, bytes) in produced {
            #expect(bytes.range(of: Data(Self.value.utf8)) == nil, "the secret value leaked into \(name)")
        }
    }

    @Test func aSecretTheCatalogEntryDoesNotDeclareIsRefused() async throws {
        let server = try ServerProcess()
        #expect(server.stop() == 0)
        _ = try ConfluxBinary.run(["secrets", "init-key", "--data", server.dataDirectory])
        _ = try ConfluxBinary.run(["secrets", "set", "other/token", "--data", server.dataDirectory], stdin: Data("x".utf8))
        try server.writeManifest("sink", kind: "connector", extra: "egress:\n  - url: http://127.0.0.1:9\n    allow_private: true\n")
        try server.write("plugins/sink/plugin.lua", """
            local http = require("http")
            return { kind = "connector", deliver = function(op, ctx)
              return http.request{ url = "http://127.0.0.1:9/x", headers = { ["X-Key"] = secret("other/token") } }.status
            end }
            """)
        try server.start()
        let reply = try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: PipelineEndToEndTests.event("u1"))
        let id = try #require(reply.json["id"] as? String)
        _ = try await server.waitUntil { $0.first { $0["id"] as? String == id }?["status"] as? String == "dead" }
        let shown = try ConfluxBinary.run(["dlq", "show", id, "--data", server.dataDirectory])
        #expect(shown.stdout.contains("secret other/token is not declared in plugin sink"), "\(shown.stdout)")
        #expect(server.stop() == 0)
    }
}
