import Foundation
import Logging
@testable import LuaRuntime

/// The repository root, found from this file's path (tests read `sandbox/profiles` and `plugins/`).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func profile(_ name: String) throws -> SandboxProfile {
    try SandboxProfile.load(named: name, from: repositoryRoot.appendingPathComponent("sandbox/profiles"))
}

let testLogger = Logger(label: "conflux.tests")

func makeState(_ profileName: String = "production", root: URL? = nil) throws -> LuaState {
    try LuaState(limits: profile(profileName).limits, context: HostContext(pluginName: "test", pluginRoot: root, logger: testLogger))
}

/// Runs `source` as a chunk in a fresh state and returns its result as JSON text.
func evaluate(_ source: String, profile profileName: String = "production") async throws -> String {
    let state = try makeState(profileName)
    defer { state.close() }
    let chunk = try state.compile(source: Array(source.utf8), chunkName: "test.lua")
    switch try await state.run(chunk, arguments: []) {
    case .json(let bytes): return String(decoding: bytes, as: UTF8.self)
    default: return "null"
    }
}

/// Runs `source` and returns the error it must raise.
func failure(of source: String, profile profileName: String = "production") async throws -> LuaError {
    do {
        let result = try await evaluate(source, profile: profileName)
        throw UnexpectedSuccess(result: result)
    } catch let error as LuaError {
        return error
    }
}

struct UnexpectedSuccess: Error { let result: String }

/// A temporary folder removed when the value goes away.
final class TemporaryFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func write(_ path: String, _ contents: String) throws {
        let file = url.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: file)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}
