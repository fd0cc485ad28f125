import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `conflux serve` process for a test: its own data directory, flows and plugins, on a free port.
/// `@unchecked Sendable`: every stored property is set in `init` and only read afterwards (requests from many tasks).
final class ServerProcess: @unchecked Sendable {
    private(set) var process = Process()
    let folder: URL
    let output: URL
    private(set) var port = 0
    var plugins: URL { folder.appendingPathComponent("plugins") }
    var flows: URL { folder.appendingPathComponent("flows") }

    /// Writes a flow `clinic-webhook` → `passthrough` → `sink` with plugins that cooperate, then starts. The sink fails
    /// as the event asks: `fail_until` (attempts failing retryably), `permanent` (a permanent error).
    let extraArguments: [String]
    /// Where the server's log goes (info level, including the plugins' log lines).
    var log: URL { folder.appendingPathComponent("stderr") }

    init(maxBodyBytes: Int = 4096, extraArguments: [String] = []) throws {
        self.extraArguments = extraArguments
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-serve-\(UUID().uuidString)")
        output = folder.appendingPathComponent("stdout")
        try write("plugins/clinic-webhook/plugin.lua", """
            local json = require("json")
            return { kind = "source", decode = function(payload)
              local body = json.decode(payload)
              return { { type = body.type, data = body } }
            end }
            """)
        try write("plugins/passthrough/plugin.lua", """
            return { kind = "mapping", map = function(event) return event.data end }
            """)
        try write("plugins/sink/plugin.lua", Self.sink)
        try write("flows/clinic.yaml", """
            name: clinic-billing
            source:
              plugin: clinic-webhook
              content_types: [application/json, x-application/hl7-v2+er7]
              max_body_bytes: \(maxBodyBytes)
              idempotency_headers: [webhook-id]
              ordering_key: /data/appointment_id
            routes:
              - event: appointment.completed
                mappings: [passthrough]
                connector: sink
            retry:
              max_attempts: 5
              base_delay_ms: 10
              max_delay_ms: 50
            """)
        try start()
    }

    /// A server over a project `prepare` writes into `folder` (plugins/, flows/, catalog/); it does not start until
    /// `start()`, so the test can set secrets in the data directory first.
    init(extraArguments: [String] = [], prepare: (ServerProcess) throws -> Void) throws {
        self.extraArguments = extraArguments
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-serve-\(UUID().uuidString)")
        output = folder.appendingPathComponent("stdout")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try prepare(self)
    }

    static let sink = """
        local conflux = require("conflux")
        local log = require("log")
        local crypto = require("crypto")
        return { kind = "connector", deliver = function(op, ctx)
          local data = op.data or {}
          log.info("delivering", { event = op.id })
          if data.permanent then error(conflux.permanent("partner rejected: " .. data.permanent .. " (on " .. tostring(ctx.env) .. ")")) end
          if data.fail_until and ctx.attempt <= data.fail_until then error(conflux.retryable("partner busy")) end
          -- flaky: 30% of calls fail retryably (77/256 of the first hash byte), decided by message and attempt so the
          -- test can recompute the attempts each message needs; never the 5th attempt (the flow allows 5).
          if data.flaky and ctx.attempt < 5 then
            local h = crypto.sha256(ctx.message_id .. "#" .. ctx.attempt)
            if tonumber(h:sub(1, 2), 16) < 77 then error(conflux.retryable("partner flaked")) end
          end
          return { ok = true }
        end }
        """

    func write(_ path: String, _ text: String) throws {
        let url = folder.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Writes a complete catalog manifest `catalog/NAME-VERSION.yaml` for `plugins/NAME` (status draft: dev and
    /// staging run it); `extra` is more YAML at the top level (egress, secrets, data, …).
    func writeManifest(_ name: String, kind: String, version: String = "1.0.0", extra: String = "") throws {
        try write("catalog/\(name)-\(version).yaml", """
            name: \(name)
            kind: \(kind)
            version: \(version)
            owner: Test Owner <owner@tests.example>
            team: tests
            description: \(name) for a test
            entry: plugins/\(name)
            sla: { latency_p95_ms: 100 }
            status: draft

            """ + extra + "\n")
    }

    /// Declares secrets in `catalog/secrets.yaml`, so manifests may name them.
    func writeSecretInventory(_ names: [String]) throws {
        try write("catalog/secrets.yaml", "secrets:\n" + names.map { "  - { name: \($0), owner: ops@tests.example }\n" }.joined())
    }

    /// Starts `conflux serve` on a free port and waits for its "listening on" line.
    func start() throws {
        process = Process()
        FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = ConfluxBinary.url
        process.arguments = ["serve", "--data", folder.appendingPathComponent("data").path, "--port", "0",
                             "--flows", flows.path, "--plugins", plugins.path,
                             "--catalog", folder.appendingPathComponent("catalog").path] + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["CONFLUX_HOME"] = ConfluxBinary.repositoryRoot.path
        environment["CONFLUX_LOG_LEVEL"] = "info"
        process.environment = environment
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let logHandle = try FileHandle(forWritingTo: log)
        logHandle.seekToEndOfFile()
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = logHandle
        try process.run()
        if let match = try? waitForOutput(/listening on http:\/\/127\.0\.0\.1:(\d+)/, timeout: 30) {
            port = Int(match.1)!
            return
        }
        process.terminate()
        let log = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw Failure(description: "conflux serve did not start: \(String(describing: try? String(contentsOf: output, encoding: .utf8)))\n"
                      + log.split(separator: "\n").suffix(15).joined(separator: "\n"))
    }

    /// The first match of `pattern` in what the server printed, waiting up to `timeout` for it: the HTTP listener's
    /// line (which `start` waits for) and the MLLP listeners' lines come from services started side by side, in no
    /// fixed order.
    func waitForOutput<Output>(_ pattern: Regex<Output>, timeout: TimeInterval = 15) throws -> Regex<Output>.Match {
        let deadline = Date().addingTimeInterval(timeout)
        var text = ""
        repeat {
            text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: pattern) { return match }
            usleep(20_000)
        } while Date() < deadline && process.isRunning
        throw Failure(description: "no line matching the expected pattern within \(Int(timeout)) s in: \(text)")
    }

    /// SIGKILL: no chance to flush or release anything.
    func crash() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then the exit status (graceful shutdown exits 0).
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Waits until `condition` holds on the listed messages (or `timeout` seconds pass).
    func waitUntil(timeout: TimeInterval = 20, _ condition: ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        var listed = try listedMessages()
        while !condition(listed) && Date() < deadline {
            try await Task.sleep(nanoseconds: 200_000_000)
            listed = try listedMessages()
        }
        return listed
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    var dataDirectory: String { folder.appendingPathComponent("data").path }

    struct Reply {
        let status: Int
        let json: [String: Any]
        let headers: [String: String]
    }

    func post(_ path: String, contentType: String?, body: Data, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        return try await send(request)
    }

    /// Any method, with headers (an admin token) and a body.
    func request(_ method: String, _ path: String, token: String? = nil, body: Data? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = body; request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        return try await send(request)
    }

    func get(_ path: String) async throws -> Reply {
        try await send(URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!))
    }

    private func send(_ request: URLRequest) async throws -> Reply {
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers["\(key)".lowercased()] = "\(value)" }
        return Reply(status: http.statusCode, json: json, headers: headers)
    }

    /// The queue as `conflux messages list` prints it.
    func listedMessages() throws -> [[String: Any]] {
        let result = try ConfluxBinary.run(["messages", "list", "--data", dataDirectory, "--limit", "100000"])
        return result.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }
}
