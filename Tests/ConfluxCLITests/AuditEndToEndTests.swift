import Foundation
import Testing

/// The audit trail through the real binary: written by a running server, verified and exported by the CLI, and a
/// row edited with the sqlite3 tool named by `conflux audit verify`.
@Suite(.serialized) struct AuditEndToEndTests {
    static func sqlite3(_ database: String, _ sql: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [database, sql]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func aRunLeavesAVerifiableTrailAndAnEditIsNamed() async throws {
        let server = try ServerProcess()
        for n in 0..<3 {
            _ = try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: PipelineEndToEndTests.event("a\(n)"))
        }
        _ = try await server.waitUntil { $0.filter { $0["status"] as? String == "done" }.count == 3 }
        _ = try await server.get("/api/dlq")
        #expect(server.stop() == 0)
        let data = server.dataDirectory

        let verified = try ConfluxBinary.run(["audit", "verify", "--data", data])
        #expect(verified.status == 0 && verified.stdout.contains("audit chain intact"), "\(verified.stdout)\(verified.stderr)")
        let exported = try ConfluxBinary.run(["audit", "export", "--data", data, "--since", "2000-01-01T00:00:00Z"])
        let lines = exported.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let actions = lines.compactMap { $0["action"] as? String }
        #expect(actions.contains("messages.received") && actions.contains("messages.delivered") && actions.contains("admin.request")
                && actions.contains("plugin.loaded"), "\(actions)")
        #expect(lines.allSatisfy { ($0["hash"] as? String)?.count == 64 })

        let database = URL(fileURLWithPath: data).appendingPathComponent("conflux.sqlite").path
        #expect(try Self.sqlite3(database, "UPDATE audit SET subject = 'someone-else' WHERE seq = 2") == 0)
        let broken = try ConfluxBinary.run(["audit", "verify", "--data", data])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("broken at record 2") && broken.stdout.contains("altered"), "\(broken.stdout)")
    }
}
