import Foundation
import Logging
import LuaRuntime
@testable import Pipeline
import Testing

/// Two versions of a plugin side by side: references resolve to the highest version that satisfies them.
@Suite struct PluginDirectoryTests {
    func directory() throws -> (PluginDirectory, URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-directory-\(UUID().uuidString)")
        var specs: [PluginSpec] = []
        for version in ["1.0.0", "1.4.2", "2.0.0"] {
            let folder = root.appendingPathComponent("invoice-\(version)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("return { kind = \"mapping\", map = function(e) return \"\(version)\" end }\n".utf8).write(to: folder.appendingPathComponent("plugin.lua"))
            specs.append(PluginSpec(name: "invoice", version: SemanticVersion(version), folder: folder))
        }
        let limits = try SandboxProfile.load(named: "production", from: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("sandbox/profiles")).limits
        return (PluginDirectory(specs: specs, fallbackFolder: nil, refusals: ["odoo@1.0.0": "unapproved (status draft)"], limits: limits,
                                statesPerPlugin: 1, logger: Logger(label: "test")), root)
    }

    func version(_ directory: PluginDirectory, _ reference: String) async throws -> String {
        let pool = try await directory.pool(reference)
        guard case .json(let bytes) = try await pool.invoke("map", input: .json(Array("{}".utf8))) else { return "?" }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func referencesPickTheHighestSatisfyingVersion() async throws {
        let (directory, root) = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try await version(directory, "invoice") == #""2.0.0""#)
        #expect(try await version(directory, "invoice@^1") == #""1.4.2""#)
        #expect(try await version(directory, "invoice@1.0.0") == #""1.0.0""#)
        #expect(try await version(directory, "invoice@~1.4") == #""1.4.2""#)
        #expect(Set(await directory.loaded().map(\.id)) == ["invoice@1.0.0", "invoice@1.4.2", "invoice@2.0.0"])
        await #expect(throws: PluginDirectoryError.self) { _ = try await directory.pool("invoice@^3") }
        do {
            _ = try await directory.pool("odoo")
            Issue.record("a refused plugin loaded")
        } catch let error as PluginDirectoryError {
            #expect(error.description == "plugin odoo@1.0.0 is not loaded here: unapproved (status draft)")
        }
        // Taking a version out of service moves unpinned references to the next highest.
        await directory.remove("invoice@2.0.0", reason: "retired")
        #expect(try await version(directory, "invoice") == #""1.4.2""#)
    }
}
