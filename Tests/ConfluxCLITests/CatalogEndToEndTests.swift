import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import Testing

/// The catalog through the real binary: production runs only approved bytes, roles on the admin API, hot reload.
@Suite(.serialized) struct CatalogEndToEndTests {
    /// Records what the connector delivers: (idempotency key, mapping version).
    final class Sink: Sendable {
        let deliveries = Mutex<[(key: String, version: String)]>([])

        func start() async throws -> (Int, Task<Void, Never>) {
            let router = Router()
            router.post("deliver") { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 16)
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
                self.deliveries.withLock { $0.append(("\(object["key"] ?? "?")", "\(object["version"] ?? "?")")) }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
            }
            return await startLocalServer(router)
        }
    }

    /// A mapping whose output carries `version`, with a test that pins it (so a reload runs a real test).
    static func mapping(version: String, testExpects: String? = nil) -> (plugin: String, spec: String) {
        ("""
        return { kind = "mapping", map = function(event)
          return { key = event.data.key, version = "\(version)" }
        end }
        """, """
        local plugin = require("plugin")
        describe("passthrough", function()
          it("stamps its version", function()
            assert.are.equal("\(testExpects ?? version)", plugin.map({ data = { key = "k" } }).version)
          end)
        end)
        """)
    }

    func writeMapping(_ server: ServerProcess, version: String, testExpects: String? = nil) throws {
        let (plugin, spec) = Self.mapping(version: version, testExpects: testExpects)
        try server.write("plugins/passthrough/spec/plugin_spec.lua", spec)
        try server.write("plugins/passthrough/plugin.lua", plugin)
    }

    /// The default flow with a sink that posts to `sinkPort`, every plugin in the catalog with a test.
    func catalogedServer(sinkPort: Int, env: String) throws -> ServerProcess {
        let server = try ServerProcess(extraArguments: ["--env", env])
        #expect(server.stop() == 0)
        try writeMapping(server, version: "v1")
        try server.write("plugins/sink/plugin.lua", """
            local http, json = require("http"), require("json")
            return { kind = "connector", deliver = function(op)
              local response = http.request{ method = "POST", url = "http://127.0.0.1:\(sinkPort)/deliver", json = op, timeout_ms = 5000 }
              if response.status ~= 200 then error({ message = "sink said " .. response.status, retryable = true }) end
              return { delivered = op.key }
            end }
            """)
        try server.write("plugins/sink/spec/plugin_spec.lua", """
            local plugin = require("plugin")
            describe("sink", function() it("is a connector", function() assert.are.equal("connector", plugin.kind) end) end)
            """)
        try server.write("plugins/clinic-webhook/spec/plugin_spec.lua", """
            local plugin = require("plugin")
            describe("clinic-webhook", function() it("decodes", function()
              assert.are.equal("appointment.completed", plugin.decode('{"type":"appointment.completed"}')[1].type)
            end) end)
            """)
        try server.writeManifest("clinic-webhook", kind: "source", extra: "events: { produces: [appointment.completed] }")
        try server.writeManifest("passthrough", kind: "mapping")
        try server.writeManifest("sink", kind: "connector", extra: "egress:\n  - url: http://127.0.0.1:\(sinkPort)\n    allow_private: true\n")
        try server.write("catalog/clinic-billing-1.0.0.yaml", """
            name: clinic-billing
            kind: flow
            version: 1.0.0
            owner: Test Owner <owner@tests.example>
            team: tests
            description: the test flow
            entry: flows/clinic.yaml
            sla: { latency_p95_ms: 100 }
            status: draft
            """)
        return server
    }

    func cli(_ arguments: [String], _ server: ServerProcess) throws -> ConfluxBinary.Output {
        try ConfluxBinary.run(arguments + ["--catalog", server.folder.appendingPathComponent("catalog").path])
    }

    func approve(_ id: String, _ server: ServerProcess) throws {
        let submit = try cli(["catalog", "submit", id, "--by", "owner@tests.example", "--reason", "ready", "--data", server.dataDirectory], server)
        #expect(submit.status == 0, "\(submit.stderr)")
        let approve = try cli(["catalog", "approve", id, "--by", "Rae Chen <rae@board.example>", "--reason", "reviewed", "--data", server.dataDirectory], server)
        #expect(approve.status == 0, "\(approve.stderr)")
    }

    func post(_ server: ServerProcess, key: String) async throws -> Int {
        let body = Data(#"{"type":"appointment.completed","key":"\#(key)","appointment_id":"\#(key)"}"#.utf8)
        return try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: body, headers: ["Idempotency-Key": key]).status
    }

    @Test func productionRefusesATamperedPluginAndServesTheRest() async throws {
        let sink = Sink()
        let (sinkPort, sinkTask) = try await sink.start()
        defer { sinkTask.cancel() }
        let server = try catalogedServer(sinkPort: sinkPort, env: "production")
        // A second, independent plugin that stays approved and untouched, and a third never approved.
        try server.write("plugins/spare/plugin.lua", "return { kind = \"mapping\", map = function(e) return e end }\n")
        try server.write("plugins/spare/spec/plugin_spec.lua", "describe('spare', function() it('ok', function() end) end)\n")
        try server.writeManifest("spare", kind: "mapping")
        for id in ["clinic-webhook@1.0.0", "passthrough@1.0.0", "sink@1.0.0", "clinic-billing@1.0.0", "spare@1.0.0"] { try approve(id, server) }

        try server.start()
        #expect(try await post(server, key: "before-tamper") == 202)
        #expect(try await server.get("/readyz").status == 200)
        #expect(server.stop() == 0)
        #expect(sink.deliveries.withLock { $0.map(\.key) } == ["before-tamper"])

        // One byte of the connector changes after approval.
        let file = server.plugins.appendingPathComponent("sink/plugin.lua")
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count - 2] = bytes[bytes.count - 2] == UInt8(ascii: " ") ? UInt8(ascii: "\t") : UInt8(ascii: " ")
        try bytes.write(to: file)
        try server.start()
        let status = try cli(["catalog", "status"], server)
        #expect(status.stdout.contains("sink@1.0.0"), "\(status.stdout)")
        #expect(status.stdout.contains("refused: hash mismatch: approved sha256"), "\(status.stdout)")
        let log = try String(contentsOf: server.log, encoding: .utf8)
        #expect(log.contains("refusing catalog entry"), "\(log)")
        let refusalLine = log.split(separator: "\n").first { $0.contains("refusing catalog entry") && $0.contains("sink@1.0.0") }.map(String.init) ?? ""
        #expect(refusalLine.contains("hash mismatch: approved sha256") && refusalLine.contains("folder now") && refusalLine.contains("modified plugin.lua"),
                "\(refusalLine)")
        // The rest keeps serving: ingest accepts, the untouched plugins are loaded; readiness names the refused one.
        #expect(try await post(server, key: "after-tamper") == 202)
        let ready = try await server.get("/readyz")
        #expect(ready.status == 503)
        #expect("\(ready.json)".contains("sink@1.0.0") && "\(ready.json)".contains("hash mismatch"), "\(ready.json)")
        let token = try #require(try ConfluxBinary.run(["tokens", "create", "--name", "ops", "--role", "operator", "--data", server.dataDirectory])
            .stdout.split(separator: "\n").first.map(String.init))
        let remote = try ConfluxBinary.run(["catalog", "status", "--server", "http://127.0.0.1:\(server.port)", "--token", token])
        #expect(remote.status == 0, "\(remote.stderr)")
        #expect(remote.stdout.contains("environment: production"))
        #expect(remote.stdout.contains("spare@1.0.0") && remote.stdout.contains("passthrough@1.0.0"), "\(remote.stdout)")
        #expect(remote.stdout.contains("refused sink@1.0.0: hash mismatch"), "\(remote.stdout)")
        // Production's admin API needs a token even though only one exists; the message waits, not lost.
        #expect(try await server.request("GET", "/api/catalog/status").status == 401)
        try await Task.sleep(nanoseconds: 500_000_000)
        #expect(sink.deliveries.withLock { $0.map(\.key) } == ["before-tamper"])
        let waiting = try server.listedMessages().filter { ($0["status"] as? String) != "done" }
        #expect(waiting.count == 1)
        #expect(server.stop() == 0)
    }

    @Test func rolesAreEnforcedOnTheAdminAPI() async throws {
        let server = try catalogedServer(sinkPort: 9, env: "staging")
        func token(_ name: String, _ role: String) throws -> String {
            let result = try ConfluxBinary.run(["tokens", "create", "--name", name, "--role", role, "--data", server.dataDirectory])
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let developer = try token("owner@tests.example", "developer")
        let reviewer = try token("Rae Chen <rae@board.example>", "reviewer")
        let operatorToken = try token("ops@tests.example", "operator")
        try server.start()
        let reason = Data(#"{"reason":"ready for review"}"#.utf8)

        #expect(try await server.request("POST", "/api/catalog/entries/spare@1.0.0/submit", body: reason).status == 401)
        #expect(try await server.request("POST", "/api/catalog/entries/passthrough@1.0.0/submit", token: "cfx_000000000000_bad", body: reason).status == 401)
        let early = try await server.request("POST", "/api/catalog/entries/passthrough@1.0.0/approve", token: developer, body: reason)
        #expect(early.status == 403)
        #expect("\(early.json)".contains("a developer token cannot approve"), "\(early.json)")
        #expect(try await server.request("POST", "/api/catalog/entries/passthrough@1.0.0/submit", token: reviewer, body: reason).status == 403)
        #expect(try await server.request("POST", "/api/catalog/entries/passthrough@1.0.0/submit", token: developer, body: reason).status == 200)
        // The developer's token names the owner: four eyes still holds when the owner holds a reviewer token too.
        let approved = try await server.request("POST", "/api/catalog/entries/passthrough@1.0.0/approve", token: reviewer,
                                                body: Data(#"{"reason":"reviewed the mapping"}"#.utf8))
        #expect(approved.status == 200, "\(approved.json)")
        #expect(approved.json["status"] as? String == "approved")
        #expect(approved.json["by"] as? String == "Rae Chen <rae@board.example>")
        let manifest = try String(contentsOf: server.folder.appendingPathComponent("catalog/passthrough-1.0.0.yaml"), encoding: .utf8)
        #expect(manifest.contains("status: approved") && manifest.contains(#"reviewer: "Rae Chen <rae@board.example>""#))
        // A reviewer cannot edit plugins; a developer can (staging); an operator reads messages, a developer cannot.
        let edit = Data(Self.mapping(version: "v2").plugin.utf8)
        #expect(try await server.request("PUT", "/api/plugins/passthrough@1.0.0/files/plugin.lua", token: reviewer, body: edit).status == 403)
        #expect(try await server.request("PUT", "/api/plugins/passthrough@1.0.0/files/../../etc/x", token: developer, body: edit).status != 202)
        #expect(try await server.request("GET", "/api/messages", token: developer).status == 403)
        #expect(try await server.request("GET", "/api/messages", token: operatorToken).status == 200)
        #expect(try await server.request("GET", "/api/catalog/entries", token: operatorToken).status == 200)
        // Every call is in the audit trail under the token holder's name.
        #expect(server.stop() == 0)
        let audit = try ConfluxBinary.run(["audit", "export", "--data", server.dataDirectory]).stdout
        #expect(audit.contains(#""actor":"Rae Chen <rae@board.example>","action":"catalog.approved","subject":"passthrough@1.0.0""#), "\(audit)")
        #expect(audit.contains(#""action":"admin.request""#) && audit.contains("developer token"))
        #expect(try ConfluxBinary.run(["audit", "verify", "--data", server.dataDirectory]).status == 0)
    }

    @Test func hotReloadUnderLoadLosesAndDoublesNothing() async throws {
        let sink = Sink()
        let (sinkPort, sinkTask) = try await sink.start()
        defer { sinkTask.cancel() }
        let server = try catalogedServer(sinkPort: sinkPort, env: "staging")
        try server.start()
        let total = 400
        let sender = Task {
            var statuses: [Int] = []
            for index in 0..<total {
                statuses.append(try await post(server, key: "m\(index)"))
                if index % 20 == 0 { try await Task.sleep(nanoseconds: 10_000_000) }
            }
            return statuses
        }
        // Five saves while messages flow; each must go live (status shows its hash) before the next.
        var saveToLive: [Double] = []
        for version in 2...6 {
            try await Task.sleep(nanoseconds: 150_000_000)
            let saved = Date()
            try writeMapping(server, version: "v\(version)")
            var live = false
            while Date().timeIntervalSince(saved) < 10 {
                let status = try await server.request("GET", "/api/catalog/status")
                let plugins = status.json["plugins"] as? [[String: Any]] ?? []
                let passthrough = plugins.first { $0["id"] as? String == "passthrough@1.0.0" }
                let last = passthrough?["last_reload"] as? [String: Any]
                if let last, last["result"] as? String == "ok", (last["message"] as? String ?? "").contains("tests passed"),
                   let at = last["at"] as? String, let when = try? Date(at, strategy: .iso8601), when >= saved.addingTimeInterval(-0.01) {
                    live = true
                    break
                }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            #expect(live, "v\(version) did not go live")
            saveToLive.append(Date().timeIntervalSince(saved))
        }
        let statuses = try await sender.value
        #expect(statuses.allSatisfy { $0 == 202 })
        let listed = try await server.waitUntil(timeout: 60) { $0.count == total && $0.allSatisfy { ($0["status"] as? String) == "done" } }
        #expect(listed.count == total)
        #expect(listed.allSatisfy { ($0["status"] as? String) == "done" })
        let deliveries = sink.deliveries.withLock { $0 }
        let keys = deliveries.map(\.key)
        #expect(keys.count == total, "delivered \(keys.count) for \(total) messages")
        #expect(Set(keys).count == total, "a message was delivered twice")
        let versions = Set(deliveries.map(\.version))
        #expect(versions.count >= 3, "versions seen: \(versions.sorted())")
        #expect(versions.contains("v6"))
        print("hot reload: save-to-live over \(saveToLive.count) saves (incl. status polling every 10 ms): "
              + saveToLive.map { String(format: "%.0f ms", $0 * 1000) }.joined(separator: ", ") + "; versions delivered: \(versions.sorted())")
        #expect(server.stop() == 0)
    }

    @Test func aFailedReloadKeepsTheOldVersionServing() async throws {
        let sink = Sink()
        let (sinkPort, sinkTask) = try await sink.start()
        defer { sinkTask.cancel() }
        let server = try catalogedServer(sinkPort: sinkPort, env: "staging")
        try server.start()
        // A new version whose test fails: it must not go live.
        try writeMapping(server, version: "v2-broken", testExpects: "v2")
        var failure: [String: Any]?
        for _ in 0..<300 where failure == nil {
            try await Task.sleep(nanoseconds: 20_000_000)
            let status = try await server.request("GET", "/api/catalog/status")
            let passthrough = (status.json["plugins"] as? [[String: Any]] ?? []).first { $0["id"] as? String == "passthrough@1.0.0" }
            if let last = passthrough?["last_reload"] as? [String: Any], last["result"] as? String == "failed" { failure = last }
        }
        let message = try #require(failure?["message"] as? String)
        #expect(message.contains("1 of 1 tests failed") && message.contains("stamps its version"), "\(message)")
        #expect(try await post(server, key: "still-v1") == 202)
        _ = try await server.waitUntil { $0.count == 1 && ($0[0]["status"] as? String) == "done" }
        #expect(sink.deliveries.withLock { $0.map(\.version) } == ["v1"])
        // A syntax error does not go live either, and the reason says where.
        try server.write("plugins/passthrough/plugin.lua", "return { kind = \"mapping\", map = function(e) return e end\n")
        try await Task.sleep(nanoseconds: 1_000_000_000)
        #expect(try await post(server, key: "still-v1-again") == 202)
        _ = try await server.waitUntil { $0.count == 2 && $0.allSatisfy { ($0["status"] as? String) == "done" } }
        #expect(sink.deliveries.withLock { $0.map(\.version) } == ["v1", "v1"])
        #expect(server.stop() == 0)
        let audit = try ConfluxBinary.run(["audit", "export", "--data", server.dataDirectory]).stdout
        #expect(audit.contains(#""action":"plugin.reload_failed","subject":"passthrough@1.0.0""#))
        let log = try String(contentsOf: server.log, encoding: .utf8)
        #expect(log.contains("plugin reload failed; the previous version keeps serving"))
    }
}
