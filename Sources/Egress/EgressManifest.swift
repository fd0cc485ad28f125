import Foundation
import Yams

/// Reads the egress lists of the catalog's plugin manifests (`catalog/*.yaml`, one per plugin):
///
/// ```yaml
/// name: odoo
/// egress:
///   - https://odoo.example.com          # scheme://host[:port]; public addresses only
///   - url: http://127.0.0.1:8069
///     allow_private: true               # loopback/private/link-local allowed for this origin
///     rate_limit: { per_second: 20, burst: 40 }
///     circuit: { failure_rate: 0.5, min_requests: 20, window_s: 30, open_s: 30, half_open_probes: 3 }
/// ```
///
/// `rate_limit` and `circuit` are read in EgressManifest+Endpoint.swift.
///
/// `secrets: [odoo/api_key]` lists the secrets the plugin may send (to those origins only).
///
/// Only `name`, `egress` and `secrets` are read here; the catalog (governance) validates the rest of a manifest.
public enum EgressManifest {
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let file: String
        public let line: Int
        public let field: String
        public let message: String
        public var description: String { "\(file):\(line): \(field): \(message)" }

        public init(file: String, line: Int, field: String, message: String) {
            (self.file, self.line, self.field, self.message) = (file, line, field, message)
        }
    }

    public struct Problems: Error, CustomStringConvertible {
        public let problems: [Problem]
        public var description: String { problems.map(\.description).joined(separator: "\n") }
    }

    /// The policies by plugin name, from every manifest in `directory` (a missing directory is no policies).
    public static func load(directory: URL) throws(Problems) -> [String: EgressPolicy] {
        let files = ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { ["yaml", "yml"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var policies: [String: EgressPolicy] = [:]
        var problems: [Problem] = []
        for file in files {
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            switch parse(text, file: file.path) {
            case .success(let (name, policy)):
                if policies[name] != nil {
                    problems.append(Problem(file: file.path, line: 1, field: "name", message: "plugin '\(name)' has two manifests"))
                }
                policies[name] = policy
            case .failure(let failure): problems += failure.problems
            }
        }
        if !problems.isEmpty { throw Problems(problems: problems) }
        return policies
    }

    public static func parse(_ text: String, file: String) -> Result<(String, EgressPolicy), Problems> {
        func fail(_ node: Node?, _ field: String, _ message: String) -> Problem {
            Problem(file: file, line: node?.mark?.line ?? 1, field: field, message: message)
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { return .failure(Problems(problems: [fail(nil, "(file)", "the file is empty")])) }
            root = node
        } catch {
            return .failure(Problems(problems: [fail(nil, "(file)", "not valid YAML: \(error)")]))
        }
        guard let top = root.mapping else { return .failure(Problems(problems: [fail(root, "(file)", "expected a mapping")])) }
        var problems: [Problem] = []
        let name = top["name"]?.string
        if name?.isEmpty ?? true { problems.append(fail(top["name"] ?? root, "name", "missing (required): the plugin's name")) }
        var rules: [EgressRule] = []
        if let node = top["egress"] {
            let parsed = Self.rules(node, fail: fail)
            rules = parsed.rules
            problems += parsed.problems
        }
        var secrets = Set<String>()
        if let node = top["secrets"] {
            if let list = node.sequence {
                for (index, item) in list.enumerated() {
                    guard let secretName = item.string, secretName.wholeMatch(of: /[a-z0-9][a-z0-9_.-]*(?:\/[a-z0-9][a-z0-9_.-]*)*/) != nil else {
                        problems.append(fail(item, "secrets[\(index)]", "expected a secret name like odoo/api_key"))
                        continue
                    }
                    secrets.insert(secretName)
                }
            } else {
                problems.append(fail(node, "secrets", "expected a list of secret names"))
            }
        }
        guard let name, problems.isEmpty else { return .failure(Problems(problems: problems)) }
        return .success((name, EgressPolicy(rules: rules, secrets: secrets)))
    }

    /// The rules of an `egress:` list (origins, or mappings with `url`, `allow_private`, `rate_limit`, `circuit`).
    public static func rules(_ node: Node, fail: (Node?, String, String) -> Problem) -> (rules: [EgressRule], problems: [Problem]) {
        var rules: [EgressRule] = []
        var problems: [Problem] = []
            if let list = node.sequence {
                for (index, item) in list.enumerated() {
                    let field = "egress[\(index)]"
                    var origin: String?
                    var allowPrivate = false
                    var rateLimit: RateLimit?
                    var circuit = CircuitSettings.standard
                    if let scalar = item.string {
                        origin = scalar
                    } else if let fields = item.mapping {
                        let keys = ["url", "allow_private", "rate_limit", "circuit"]
                        for (key, _) in fields where !keys.contains(key.string ?? "") {
                            problems.append(fail(key, "\(field).\(key.string ?? "?")", "unknown key (expected \(keys.joined(separator: ", ")))"))
                        }
                        if let node = fields["rate_limit"] {
                            let parsed = Self.rateLimit(node, field: "\(field).rate_limit", fail: fail)
                            (rateLimit, problems) = (parsed.0, problems + parsed.1)
                        }
                        if let node = fields["circuit"] {
                            let parsed = Self.circuit(node, field: "\(field).circuit", fail: fail)
                            (circuit, problems) = (parsed.0, problems + parsed.1)
                        }
                        origin = fields["url"]?.string
                        if origin == nil { problems.append(fail(item, "\(field).url", "missing (required)")) }
                        if let flag = fields["allow_private"] {
                            if let value = flag.bool { allowPrivate = value } else {
                                problems.append(fail(flag, "\(field).allow_private", "expected true or false"))
                            }
                        }
                    } else {
                        problems.append(fail(item, field, "expected an origin like https://host[:port] or {url:, allow_private:}"))
                    }
                    if let origin {
                        do {
                            let rule = try EgressRule(origin: origin, allowPrivate: allowPrivate, rateLimit: rateLimit, circuit: circuit)
                            // Settings are per origin: a second entry for one would be silently ignored.
                            if rules.contains(where: { $0.origin == rule.origin }) {
                                problems.append(fail(item, field, "\(rule.origin) is listed twice"))
                            }
                            rules.append(rule)
                        } catch {
                            problems.append(fail(item, field, error.message))
                        }
                    }
                }
            } else {
                problems.append(fail(node, "egress", "expected a list of origins"))
            }
                return (rules, problems)
    }
}
