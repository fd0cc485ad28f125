import Foundation

/// One run of `wrk` against a URL, and what it printed that the comparison needs.
struct WrkRun {
    let requestsPerSecond: Double
    /// Requests completed, from wrk's "N requests in …" line.
    let requests: Int
    /// Non-2xx answers and socket errors, as wrk reported them: a reference rate with errors in it is not one.
    let problems: [String]

    static func run(_ wrk: URL, url: String, threads: Int, connections: Int, seconds: Int) throws -> WrkRun {
        let process = Process()
        process.executableURL = wrk
        process.arguments = ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // wrk prints a few hundred bytes at the end; reading to EOF cannot fill the pipe first.
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let match = text.firstMatch(of: /Requests\/sec:\s+([0-9.]+)/), let rate = Double(match.1) else {
            throw CLIError("wrk failed (exit \(process.terminationStatus)):\n\(text)")
        }
        let problems = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("Non-2xx") || $0.hasPrefix("Socket errors") }
        let requests = text.firstMatch(of: /([0-9]+) requests in/).flatMap { Int($0.1) } ?? 0
        return WrkRun(requestsPerSecond: rate, requests: requests, problems: problems)
    }
}
