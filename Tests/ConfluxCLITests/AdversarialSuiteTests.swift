import Foundation
import Logging
import LuaRuntime
import Testing

/// Every script in sandbox/adversarial/ runs through `conflux sandbox check --profile production` and must be
/// contained with the outcome its header declares (`-- expect: KIND`, optional `-- message:` and `-- result:`).
/// Any exit other than 0 (ok) or 3 (contained) — a crash, a signal, a hang — is a host bug.
@Suite struct AdversarialSuiteTests {
    struct Script: CustomStringConvertible, Sendable {
        let file: URL
        let expect: String
        let message: String?
        let result: String?
        var description: String { file.lastPathComponent }
    }

    static let directory = ConfluxBinary.repositoryRoot.appendingPathComponent("sandbox/adversarial")

    static func scripts() -> [Script] {
        let files = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension == "lua" }.sorted { $0.lastPathComponent < $1.lastPathComponent }.map { file in
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            func header(_ key: String) -> String? {
                for line in text.split(separator: "\n").prefix(12) where line.hasPrefix("-- \(key):") {
                    return line.dropFirst("-- \(key):".count).trimmingCharacters(in: .whitespaces)
                }
                return nil
            }
            return Script(file: file, expect: header("expect") ?? "(missing header)", message: header("message"), result: header("result"))
        }
    }

    @Test func theSuiteHasAtLeastFortyScripts() {
        #expect(Self.scripts().count >= 40)
    }

    // One script at a time: several scripts race a memory cap against a running-time budget, and a loaded machine
    // would shift that race.
    @Test(.serialized, arguments: scripts())
    func scriptIsContained(_ script: Script) throws {
        let output = try ConfluxBinary.run(["sandbox", "check", script.file.path, "--profile", "production"], timeout: 30)
        #expect(!output.crashed, "crashed: \(output.stderr)")
        #expect(output.status == 0 || output.status == 3, "exit \(output.status): \(output.stderr)")
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.count == 1, "expected exactly one JSON line, got: \(output.stdout)")
        guard let line = lines.first, let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            Issue.record("not JSON: \(output.stdout)")
            return
        }
        if script.expect == "ok" {
            #expect(object["ok"] as? Bool == true, "\(line)")
            #expect(output.status == 0)
            if let expected = script.result, let resultJSON = Self.resultText(line) {
                #expect(resultJSON == expected, "\(line)")
            }
        } else {
            let error = object["error"] as? [String: Any]
            #expect(object["ok"] as? Bool == false, "\(line)")
            #expect(output.status == 3)
            #expect(error?["kind"] as? String == script.expect, "\(line)")
            if let message = script.message {
                #expect((error?["message"] as? String)?.contains(message) == true, "\(line)")
            }
        }
    }

    /// All scripts in this one process, each after the other in fresh states: the host must survive all of them in
    /// one run (a crash here takes the test process down, which fails the run).
    @Test func oneProcessSurvivesTheWholeSuite() async throws {
        let limits = try SandboxProfile.load(named: "production", from: ConfluxBinary.repositoryRoot.appendingPathComponent("sandbox/profiles")).limits
        var mismatches: [String] = []
        for script in Self.scripts() {
            let check = await SandboxCheck.run(file: script.file, limits: limits, logger: Logger(label: "adversarial"))
            let kind = check.ok ? "ok" : check.error?.kind.rawValue ?? "?"
            if kind != script.expect { mismatches.append("\(script): expected \(script.expect), got \(kind)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// The raw text of "result" in a line `{"ok":true,"result":…,"elapsed_ms":…}` (key order is fixed by the CLI).
    static func resultText(_ line: Substring) -> String? {
        guard let start = line.range(of: #""result":"#), let end = line.range(of: #","elapsed_ms":"#, options: .backwards) else { return nil }
        return String(line[start.upperBound..<end.lowerBound])
    }
}
