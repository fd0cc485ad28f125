import Foundation
import Yams

/// An environment profile (`dev`, `staging`, `production`): the sandbox limits plugins run under there.
///
/// Profiles are files in `sandbox/profiles/NAME.yaml` so the governance board reads the same numbers the host
/// enforces. Unknown keys and missing keys are errors naming the file and the key.
public struct SandboxProfile: Sendable, Equatable {
    public static let names = ["dev", "staging", "production"]

    public let name: String
    public let description: String
    public let limits: SandboxLimits

    public init(name: String, description: String, limits: SandboxLimits) {
        self.name = name
        self.description = description
        self.limits = limits
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let file: String
        public let problem: String
        public var description: String { "\(file): \(problem)" }
    }

    /// Loads `NAME.yaml` from the profiles directory.
    public static func load(named name: String, from directory: URL) throws -> SandboxProfile {
        guard names.contains(name) else {
            throw LoadError(file: directory.path, problem: "unknown profile '\(name)' (expected one of \(names.joined(separator: ", ")))")
        }
        let url = directory.appendingPathComponent("\(name).yaml")
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw LoadError(file: url.path, problem: "cannot read the profile (\(error.localizedDescription))")
        }
        return try parse(text, file: url.path)
    }

    static func parse(_ text: String, file: String) throws -> SandboxProfile {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw LoadError(file: file, problem: "not valid YAML: \(error)")
        }
        guard let top = root as? [String: Any] else { throw LoadError(file: file, problem: "expected a mapping at the top") }
        let allowedTop: Set = ["name", "description", "limits"]
        if let unknown = top.keys.filter({ !allowedTop.contains($0) }).sorted().first {
            throw LoadError(file: file, problem: "unknown key '\(unknown)' (expected \(allowedTop.sorted().joined(separator: ", ")))")
        }
        guard let name = top["name"] as? String else { throw LoadError(file: file, problem: "missing string 'name'") }
        guard let limitsMap = top["limits"] as? [String: Any] else {
            throw LoadError(file: file, problem: "missing mapping 'limits'")
        }
        let keys = ["memory_bytes", "instructions", "cpu_ms", "wall_ms", "call_depth", "string_bytes", "pattern_steps",
                    "json_bytes", "json_depth", "hook_interval"]
        if let unknown = limitsMap.keys.filter({ !keys.contains($0) }).sorted().first {
            throw LoadError(file: file, problem: "unknown key 'limits.\(unknown)' (expected \(keys.joined(separator: ", ")))")
        }
        func int(_ key: String) throws -> Int64 {
            guard let value = limitsMap[key] else { throw LoadError(file: file, problem: "missing 'limits.\(key)'") }
            if let int = value as? Int { return Int64(int) }
            throw LoadError(file: file, problem: "'limits.\(key)' must be an integer, got \(value)")
        }
        let limits = SandboxLimits(
            memoryBytes: Int(try int("memory_bytes")), instructions: try int("instructions"),
            cpuMilliseconds: try int("cpu_ms"), wallMilliseconds: try int("wall_ms"), callDepth: Int(try int("call_depth")),
            stringBytes: Int(try int("string_bytes")), patternSteps: try int("pattern_steps"),
            jsonBytes: Int(try int("json_bytes")), jsonDepth: Int(try int("json_depth")),
            hookInterval: Int(try int("hook_interval")))
        if let problem = limits.problems().first { throw LoadError(file: file, problem: problem) }
        return SandboxProfile(name: name, description: top["description"] as? String ?? "", limits: limits)
    }
}
