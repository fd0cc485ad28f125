import Foundation
import Testing

/// A patient's name and MRN in a payload never reach the log or the stored error when the catalog marks the fields.
@Suite(.serialized) struct PHIMaskingTests {
    @Test func markedFieldsAreMaskedInLogsAndErrors() async throws {
        let server = try ServerProcess()
        #expect(server.stop() == 0)
        let data = "data:\n  classes: [phi]\n  fields: [appointment_id]\n  masked: [family_name, given_name, mrn]\n"
        try server.writeManifest("passthrough", kind: "mapping", extra: data)
        try server.writeManifest("sink", kind: "connector", extra: data)
        try server.write("plugins/passthrough/plugin.lua", """
            local log = require("log")
            return { kind = "mapping", map = function(event)
              local d = event.data.data   -- the source wraps the posted body as event.data
              local p = d.patient
              log.info("mapping the visit of " .. p.given_name .. " " .. p.family_name, { patient = p, visit = d.appointment_id })
              return d
            end }
            """)
        try server.write("plugins/sink/plugin.lua", """
            return { kind = "connector", deliver = function(op)
              error("no partner for " .. op.patient.family_name .. " (MRN " .. op.patient.mrn .. ")")
            end }
            """)
        try server.start()
        let body = Data(#"{"type":"appointment.completed","data":{"appointment_id":"APT-7","patient":{"given_name":"Zebulon","family_name":"Quixotic-Marsh","mrn":"MRN-99887766"}}}"#.utf8)
        let reply = try await server.post("/ingest/clinic-webhook", contentType: "application/json", body: body)
        let id = try #require(reply.json["id"] as? String)
        _ = try await server.waitUntil { $0.first { $0["id"] as? String == id }?["status"] as? String == "dead" }
        let shown = try ConfluxBinary.run(["dlq", "show", id, "--data", server.dataDirectory])
        #expect(server.stop() == 0)
        let log = String(decoding: try Data(contentsOf: server.log), as: UTF8.self)
        #expect(log.contains("mapping the visit of [masked] [masked]"), "\(log)")
        #expect(log.contains("APT-7"), "non-PHI fields stay readable")
        #expect(shown.stdout.contains("no partner for [masked] (MRN [masked])"), "\(shown.stdout)")
        let history = shown.stdout.components(separatedBy: "\"attempt_history\"").last ?? ""
        for value in ["Zebulon", "Quixotic-Marsh", "MRN-99887766"] {
            #expect(!log.contains(value), "\(value) reached the log")
            #expect(!history.contains(value), "\(value) reached the stored error")
        }
    }
}
