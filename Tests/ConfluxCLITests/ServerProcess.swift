import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `conflux serve` process for a test: its own data directory, flows and plugins, on a free port.
/// `@unchecked Sendable`: every stored property is set in `init` and only read afterwards (requests from many tasks).
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let folder: URL
    let output: URL
    private(set) var port = 0

    /// Writes a flow for `clinic-webhook` → `appointment-invoice` → `sink` and the plugins it names, then starts.
    init(maxBodyBytes: Int = 4096) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-serve-\(UUID().uuidString)")
        output = folder.appendingPathComponent("stdout")
        let plugins = folder.appendingPathComponent("plugins"), flows = folder.appendingPathComponent("flows")
        try FileManager.default.createDirectory(at: flows, withIntermediateDirectories: true)
        for (name, kind) in [("clinic-webhook", "source"), ("sink", "connector"), ("appointment-invoice", "mapping")] {
            let result = try ConfluxBinary.run(["plugin", "new", name, "--kind", kind, "--plugins-dir", plugins.path])
            guard result.status == 0 else { throw Failure(description: result.stderr) }
        }
        try Data("""
            name: clinic-billing
            source:
              plugin: clinic-webhook
              content_types: [application/json, x-application/hl7-v2+er7]
              max_body_bytes: \(maxBodyBytes)
              idempotency_headers: [webhook-id]
              ordering_key: /data/appointment_id
            routes:
              - event: appointment.completed
                mappings: [appointment-invoice]
                connector: sink
            """.utf8).write(to: flows.appendingPathComponent("clinic.yaml"))
        FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = ConfluxBinary.url
        process.arguments = ["serve", "--data", folder.appendingPathComponent("data").path, "--port", "0",
                             "--flows", flows.path, "--plugins", plugins.path]
        var environment = ProcessInfo.processInfo.environment
        environment["CONFLUX_HOME"] = ConfluxBinary.repositoryRoot.path
        environment["CONFLUX_LOG_LEVEL"] = "warning"
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/) {
                port = Int(match.1)!
                return
            }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        process.terminate()
        throw Failure(description: "conflux serve did not start: \(String(describing: try? String(contentsOf: output, encoding: .utf8)))")
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
