import Foundation
import Testing

/// A temporary folder removed when the value goes away.
final class ScratchFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-cli-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The CLI as a user drives it: real processes, real files, reading what they print.
@Suite struct CLITests {
    @Test func sandboxCheckPrintsOneJSONLineAndExitsZero() throws {
        let scratch = try ScratchFolder()
        let folder = scratch.url
        let file = folder.appendingPathComponent("ok.lua")
        try Data("return { total = 2 + 3, items = { 'a', 'b' } }".utf8).write(to: file)
        let output = try ConfluxBinary.run(["sandbox", "check", file.path])
        #expect(output.status == 0)
        let line = output.stdout.trimmingCharacters(in: .newlines)
        #expect(line.hasPrefix(#"{"ok":true,"result":{"items":["a","b"],"total":5},"elapsed_ms":"#), "\(line)")
        #expect(line.contains(#""instructions":"#) && line.contains(#""memory_peak_bytes":"#))
    }

    @Test func sandboxCheckReportsContainedFailuresWithExitThree() throws {
        let scratch = try ScratchFolder()
        let folder = scratch.url
        let file = folder.appendingPathComponent("bad.lua")
        try Data("local x = 1\nreturn os.execute('id')".utf8).write(to: file)
        let output = try ConfluxBinary.run(["sandbox", "check", file.path, "--profile", "production"])
        #expect(output.status == 3)
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        let error = object?["error"] as? [String: Any]
        #expect(error?["kind"] as? String == "permission")
        #expect((error?["location"] as? String)?.hasSuffix("bad.lua:2") == true, "\(output.stdout)")
    }

    @Test(arguments: ["source", "mapping", "connector"])
    func pluginNewThenPluginTestPassesForEveryKind(kind: String) throws {
        let scratch = try ScratchFolder()
        let folder = scratch.url
        let created = try ConfluxBinary.run(["plugin", "new", "my-\(kind)", "--kind", kind, "--plugins-dir", folder.path])
        #expect(created.status == 0, "\(created.stderr)")
        let tested = try ConfluxBinary.run(["plugin", "test", folder.appendingPathComponent("my-\(kind)").path])
        #expect(tested.status == 0, "\(tested.stdout)\(tested.stderr)")
        let last = tested.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.wholeMatch(of: /[1-9]\d* passed, 0 failed/) != nil, "\(tested.stdout)")

        // Break it: the test command must fail, name the file and line, and end with the counts.
        let plugin = folder.appendingPathComponent("my-\(kind)/plugin.lua")
        let source = try String(contentsOf: plugin, encoding: .utf8)
        try Data(source.replacingOccurrences(of: "local M = { kind", with: "local M = { broken = (nil).x, kind").utf8).write(to: plugin)
        let broken = try ConfluxBinary.run(["plugin", "test", folder.appendingPathComponent("my-\(kind)").path])
        #expect(broken.status != 0)
        #expect(broken.stdout.contains("plugin.lua:"), "\(broken.stdout)")
        #expect(broken.stdout.split(separator: "\n").last == "0 passed, 1 failed", "\(broken.stdout)")
    }

    @Test func pluginNewRefusesBadNamesAndExistingFolders() throws {
        let scratch = try ScratchFolder()
        let folder = scratch.url
        let bad = try ConfluxBinary.run(["plugin", "new", "Bad_Name", "--kind", "mapping", "--plugins-dir", folder.path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("invalid plugin name"))
        _ = try ConfluxBinary.run(["plugin", "new", "twice", "--kind", "mapping", "--plugins-dir", folder.path])
        let again = try ConfluxBinary.run(["plugin", "new", "twice", "--kind", "mapping", "--plugins-dir", folder.path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists"))
    }

    @Test func pluginRunPrintsTheHookResult() throws {
        let output = try ConfluxBinary.run(["plugin", "run", "appointment-invoice", "--hook", "map",
                                            "--input", "plugins/appointment-invoice/fixtures/appointment-completed.json"])
        #expect(output.status == 0, "\(output.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        #expect(object?["external_id"] as? String == "conflux_appointment_APT-88231")
        #expect((object?["values"] as? [String: Any])?["amount_total_cents"] as? Int == 20625)
    }

    @Test func pluginRunReportsHookErrorsWithLocation() throws {
        let scratch = try ScratchFolder()
        let folder = scratch.url
        try Data("{\"type\":\"appointment.cancelled\"}".utf8).write(to: folder.appendingPathComponent("in.json"))
        let output = try ConfluxBinary.run(["plugin", "run", "appointment-invoice", "--hook", "map",
                                            "--input", folder.appendingPathComponent("in.json").path])
        #expect(output.status == 3)
        #expect(output.stderr.contains("plugin 'appointment-invoice'"), "\(output.stderr)")
        #expect(output.stderr.contains("expected an appointment.completed event"), "\(output.stderr)")
    }

    @Test func benchMapEndsWithThroughput() throws {
        let output = try ConfluxBinary.run(["bench", "map", "bench/appointment_map.lua", "bench/appointment.json", "--seconds", "0.3"])
        #expect(output.status == 0, "\(output.stderr)")
        let last = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.wholeMatch(of: /throughput: [1-9]\d* msgs\/s/) != nil, "\(output.stdout)")
    }
}
