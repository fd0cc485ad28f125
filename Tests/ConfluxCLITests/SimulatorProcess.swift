import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `conflux simulate …` process on a free port, for end-to-end tests: what it holds is read from `/_sim/state`,
/// faults are set through `/_sim/faults`.
final class SimulatorProcess: @unchecked Sendable {
    let process = Process()
    let output: URL
    private(set) var port = 0
    var url: String { "http://127.0.0.1:\(port)" }

    init(_ arguments: [String]) throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-sim-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = ConfluxBinary.url
        process.arguments = ["simulate"] + arguments + ["--port", "0"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let match = text.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/) { port = Int(match.1)!; return }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        process.terminate()
        throw ServerProcess.Failure(description: "conflux simulate \(arguments.joined(separator: " ")) did not start")
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: output)
    }

    func get(_ path: String) async throws -> Any {
        let (data, _) = try await URLSession.shared.data(from: URL(string: url + path)!)
        return try JSONSerialization.jsonObject(with: data)
    }

    @discardableResult
    func post(_ path: String, json: String, headers: [String: String] = [:]) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as! HTTPURLResponse).statusCode
        guard status < 300 else { throw ServerProcess.Failure(description: "\(path) answered \(status): \(String(decoding: data, as: UTF8.self))") }
        return (status, data)
    }

    /// The Odoo simulator's records of `model`.
    func records(_ model: String) async throws -> [[String: Any]] {
        let state = try await get("/_sim/state") as? [String: Any]
        return ((state?["models"] as? [String: Any])?[model] as? [[String: Any]]) ?? []
    }
}
