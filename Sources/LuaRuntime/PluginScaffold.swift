import Foundation

/// The files `conflux plugin new` writes: a working plugin of the kind, a passing test and its fixture.
public enum PluginScaffold {
    public struct File: Sendable {
        public let path: String
        public let contents: String
    }

    public static func files(name: String, kind: PluginKind) -> [File] {
        switch kind {
        case .source: return source(name)
        case .mapping: return mapping(name)
        case .connector: return connector(name)
        }
    }

    /// Writes the files under `plugins/NAME/`; refuses to touch an existing folder.
    public static func create(name: String, kind: PluginKind, in pluginsDirectory: URL) throws -> [URL] {
        guard Plugin.isValidName(name) else {
            throw ScaffoldError("invalid plugin name '\(name)': lower-case letters, digits and single '-', starting with a letter, at most 64 characters")
        }
        let folder = pluginsDirectory.appendingPathComponent(name)
        guard !FileManager.default.fileExists(atPath: folder.path) else {
            throw ScaffoldError("\(PluginPaths.display(folder)) already exists; choose another name or remove it")
        }
        var written: [URL] = []
        for file in files(name: name, kind: kind) {
            let url = folder.appendingPathComponent(file.path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.contents.utf8).write(to: url, options: .withoutOverwriting)
            written.append(url)
        }
        return written
    }

    public struct ScaffoldError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private static func mapping(_ name: String) -> [File] {
        [
            File(path: "plugin.lua", contents: """
                -- \(name): a mapping plugin. map(event, ctx) turns one canonical event into the operations a connector
                -- delivers. Keep it pure: no I/O here, only data in and data out, so it is easy to test.
                local M = { kind = "mapping" }

                function M.map(event, ctx)
                  local patient = event.patient or {}
                  return {
                    model = "res.partner",
                    external_id = "conflux_" .. event.id,
                    values = {
                      name = patient.family_name and (patient.given_name .. " " .. patient.family_name) or "Unknown",
                      ref = event.id,
                    },
                  }
                end

                return M

                """),
            File(path: "spec/plugin_spec.lua", contents: """
                local plugin = require("plugin")

                describe("\(name)", function()
                  it("maps the example event to a partner upsert", function()
                    local event = fixture_json("fixtures/event.json")
                    assert.are.same({
                      model = "res.partner",
                      external_id = "conflux_evt-1001",
                      values = { name = "Jane Doe", ref = "evt-1001" },
                    }, plugin.map(event, {}))
                  end)

                  it("names unknown patients 'Unknown'", function()
                    assert.are.equal("Unknown", plugin.map({ id = "evt-2" }, {}).values.name)
                  end)
                end)

                """),
            File(path: "fixtures/event.json", contents: """
                {"id": "evt-1001", "type": "appointment.scheduled", "patient": {"given_name": "Jane", "family_name": "Doe"}}

                """),
        ]
    }

    private static func source(_ name: String) -> [File] {
        [
            File(path: "plugin.lua", contents: """
                -- \(name): a source plugin. decode(payload, ctx) turns the bytes a partner sent into canonical events,
                -- each with an idempotency key so a redelivered webhook is recognised as a duplicate.
                local json = require("json")
                local M = { kind = "source" }

                function M.decode(payload, ctx)
                  local body = json.decode(payload)
                  if type(body.id) ~= "string" or type(body.type) ~= "string" then
                    error("webhook body needs string fields 'id' and 'type'")
                  end
                  return {
                    { type = body.type, idempotency_key = body.id, data = body.data or json.object({}) },
                  }
                end

                return M

                """),
            File(path: "spec/plugin_spec.lua", contents: """
                local plugin = require("plugin")

                describe("\(name)", function()
                  it("decodes the example webhook into one event", function()
                    local events = plugin.decode(fixture("fixtures/webhook.json"), {})
                    assert.are.equal(1, #events)
                    assert.are.equal("appointment.scheduled", events[1].type)
                    assert.are.equal("wh_123", events[1].idempotency_key)
                    assert.are.equal("apt-9", events[1].data.appointment_id)
                  end)

                  it("rejects a body without an id", function()
                    assert.has_error(function() plugin.decode('{"type": "x"}', {}) end)
                  end)
                end)

                """),
            File(path: "fixtures/webhook.json", contents: """
                {"id": "wh_123", "type": "appointment.scheduled", "data": {"appointment_id": "apt-9"}}

                """),
        ]
    }

    private static func connector(_ name: String) -> [File] {
        [
            File(path: "plugin.lua", contents: """
                -- \(name): a connector plugin. deliver(operation, ctx) sends one operation to the partner system and
                -- returns what the partner answered. This example prepares the idempotent request it sends; the host's
                -- HTTP client (http.request) performs it once the transport is configured for this plugin.
                local crypto = require("crypto")
                local M = { kind = "connector" }

                function M.deliver(operation, ctx)
                  return {
                    method = "POST",
                    path = "/api/" .. operation.model,
                    headers = { ["Idempotency-Key"] = crypto.sha256(operation.external_id) },
                    body = operation.values,
                  }
                end

                return M

                """),
            File(path: "spec/plugin_spec.lua", contents: """
                local plugin = require("plugin")

                describe("\(name)", function()
                  it("keys the request by the operation's external id", function()
                    local request = plugin.deliver(fixture_json("fixtures/operation.json"), {})
                    assert.are.equal("POST", request.method)
                    assert.are.equal("/api/res.partner", request.path)
                    assert.are.equal(64, #request.headers["Idempotency-Key"])
                    assert.are.same({ name = "Jane Doe" }, request.body)
                  end)
                end)

                """),
            File(path: "fixtures/operation.json", contents: """
                {"model": "res.partner", "external_id": "conflux_evt-1001", "values": {"name": "Jane Doe"}}

                """),
        ]
    }
}
