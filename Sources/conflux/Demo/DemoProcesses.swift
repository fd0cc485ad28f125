import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The demo's child processes: this same binary as simulators and as the server, each with its output in a log file
/// of the demo's folder, started and waited for until it prints its "listening on" line.
final class DemoChild {
    let name: String
    let process = Process()
    let log: URL

    init(name: String, arguments: [String], folder: URL, environment: [String: String] = [:]) throws {
        self.name = name
        log = folder.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = DemoChild.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// This binary, so the demo runs the code it was built from.
    static var executable: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath() }

    /// Waits for `pattern` in the log (the "listening on" line); fails with the log's tail if the child exits first.
    func waitFor(_ pattern: String, timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains(pattern) { return }
            if !process.isRunning {
                throw CLIError("\(name) exited (status \(process.terminationStatus)) before it was ready:\n\(tail())")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CLIError("\(name) was not ready after \(Int(timeout)) s:\n\(tail())")
    }

    func tail(_ lines: Int = 15) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after five seconds.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A TCP port free now (bound to 0 and released) for a child to take a moment later.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CLIError("cannot reserve a port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs this binary to completion (secrets, schedules) and returns its output; non-zero exit is an error.
    @discardableResult
    static func run(_ arguments: [String], stdin: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw CLIError("conflux \(arguments.prefix(3).joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }
}
