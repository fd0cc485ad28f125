import Egress
import Crypto
import Foundation
import LuaRuntime
import Pipeline
import Yams

/// Reads one manifest. Every problem names the file, the line and the field and says what was expected; all of a
/// file's problems are reported together, and smells (no SLA, PHI without a field list) come back as warnings.
public enum ManifestParser {
    public static let fields = ["name", "kind", "version", "owner", "team", "description", "entry", "sla", "data", "egress",
                                "secrets", "events", "depends_on", "config", "status", "approvals"]
    static let required = ["name", "kind", "version", "owner", "team", "description", "entry", "status"]
    static let slaFields = ["latency_p95_ms", "max_delivery_delay", "availability", "retry"]
    static let retryFields = ["max_attempts", "base_delay_ms", "max_delay_ms"]
    static let dataFields = ["classes", "fields", "masked"]
    static let eventFields = ["consumes", "produces"]
    static let decisionFields = ["decision", "reviewer", "at", "reason", "sha256", "manifest_sha256", "files"]

    static var namePattern: Regex<Substring> { /[a-z][a-z0-9]*(?:-[a-z0-9]+)*/ }
    static var eventPattern: Regex<Substring> { /[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+/ }
    static var secretPattern: Regex<Substring> { /[a-z0-9][a-z0-9_.-]*(?:\/[a-z0-9][a-z0-9_.-]*)*/ }
    static var emailPattern: Regex<Substring> { /[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+/ }
    static var hashPattern: Regex<Substring> { /[0-9a-f]{64}/ }

    /// The manifest, or nil when an error keeps it from being one; plus every problem found.
    public static func parse(_ text: String, file: String) -> (Manifest?, [CatalogProblem]) {
        var reader = Reader(file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return (nil, [CatalogProblem(.error, file: file, line: 1, field: "(file)", message: "the file is empty")])
            }
            root = node
        } catch {
            return (nil, [CatalogProblem(.error, file: file, line: 1, field: "(file)", message: "not valid YAML: \(error)")])
        }
        var manifest = reader.manifest(root)
        manifest?.contentSHA256 = FolderHash.hex(SHA256.hash(data: Data(ManifestWriter.governedText(text).utf8)))
        let id = manifest?.id
        let problems = reader.problems.map {
            CatalogProblem($0.severity, file: $0.file, line: $0.line, field: $0.field, message: $0.message, entry: id)
        }
        return (problems.contains { $0.severity == .error } ? nil : manifest, problems)
    }

    /// `15m`, `30s`, `2h`, `1d` (or a bare number of seconds) in seconds.
    static func duration(_ text: String) -> Int? {
        guard let match = text.wholeMatch(of: /([0-9]+)(s|m|h|d)?/), let value = Int(match.1) else { return nil }
        switch match.2 {
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86_400
        default: return value
        }
    }

    struct Reader {
        let file: String
        var problems: [CatalogProblem] = []

        mutating func error(_ node: Node?, _ field: String, _ message: String) {
            problems.append(CatalogProblem(.error, file: file, line: node?.mark?.line ?? 1, field: field, message: message))
        }

        mutating func warning(_ line: Int, _ field: String, _ message: String) {
            problems.append(CatalogProblem(.warning, file: file, line: line, field: field, message: message))
        }

        /// A YAML node as JSON text: mappings with string keys, sequences, and scalars typed as YAML resolved them
        /// (a quoted "8069" stays a string). Anchors and aliases were already expanded by the composer.
        mutating func json(_ node: Node, _ field: String) -> String? {
            switch node {
            case .mapping(let mapping):
                var fields: [(String, String)] = []
                for (key, value) in mapping {
                    guard let name = key.string else { error(key, field, "keys must be strings"); return nil }
                    guard let encoded = json(value, "\(field).\(name)") else { return nil }
                    fields.append((name, encoded))
                }
                return JSONText.object(fields)
            case .sequence(let sequence):
                var items: [String] = []
                for (index, value) in sequence.enumerated() {
                    guard let encoded = json(value, "\(field)[\(index)]") else { return nil }
                    items.append(encoded)
                }
                return "[" + items.joined(separator: ",") + "]"
            case .scalar(let scalar):
                // Only plain scalars are typed; a quoted one is text, whatever it looks like.
                guard scalar.style == .plain else { return JSONText.string(scalar.string) }
                if ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return "null" }
                if let value = node.bool { return value ? "true" : "false" }
                if let value = node.int { return String(value) }
                if let value = node.float {
                    guard value.isFinite else { error(node, field, "expected a finite number"); return nil }
                    return String(value)
                }
                return JSONText.string(scalar.string)
            case .alias:
                error(node, field, "aliases are not allowed in config")
                return nil
            }
        }

        mutating func mapping(_ node: Node, _ field: String, allowed: [String]) -> [String: Node]? {
            guard let mapping = node.mapping else {
                error(node, field, "expected a mapping with keys \(allowed.joined(separator: ", "))")
                return nil
            }
            var result: [String: Node] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { error(key, field, "keys must be strings"); continue }
                let path = field.isEmpty ? name : "\(field).\(name)"
                guard allowed.contains(name) else {
                    error(key, path, "unknown key (expected one of \(allowed.joined(separator: ", ")))")
                    continue
                }
                result[name] = value
            }
            return result
        }

        mutating func string(_ node: Node?, _ field: String, expected: String, pattern: Regex<Substring>? = nil) -> String? {
            guard let node else { return nil }
            guard case .scalar(let scalar) = node, !scalar.string.trimmingCharacters(in: .whitespaces).isEmpty else {
                error(node, field, "expected \(expected)")
                return nil
            }
            if let pattern, scalar.string.wholeMatch(of: pattern) == nil {
                error(node, field, "expected \(expected), got '\(scalar.string)'")
                return nil
            }
            return scalar.string
        }

        mutating func list(_ node: Node?, _ field: String, expected: String, pattern: Regex<Substring>? = nil) -> [String] {
            guard let node else { return [] }
            guard let sequence = node.sequence else { error(node, field, "expected a list of \(expected)"); return [] }
            var values: [String] = []
            for (index, item) in sequence.enumerated() {
                guard let value = string(item, "\(field)[\(index)]", expected: expected, pattern: pattern) else { continue }
                if values.contains(value) { error(item, "\(field)[\(index)]", "'\(value)' is listed twice"); continue }
                values.append(value)
            }
            return values
        }

        mutating func integer(_ node: Node?, _ field: String, range: ClosedRange<Int>) -> Int? {
            guard let node else { return nil }
            guard let value = node.int, range.contains(value) else {
                error(node, field, "expected an integer between \(range.lowerBound) and \(range.upperBound)")
                return nil
            }
            return value
        }

        mutating func manifest(_ root: Node) -> Manifest? {
            guard let top = mapping(root, "", allowed: ManifestParser.fields) else { return nil }
            var lines: [String: Int] = [:]
            for (key, _) in root.mapping ?? [:] { if let name = key.string { lines[name] = key.mark?.line ?? 1 } }
            for field in ManifestParser.required where top[field] == nil {
                error(root, field, "missing (required)" + (field == "owner" ? ": a contact like 'Dana Ortiz <dana@clinic.example>'" : ""))
            }
            let name = string(top["name"], "name", expected: "a plugin name (lower-case letters, digits, '-')", pattern: ManifestParser.namePattern)
            var kind: Manifest.Kind?
            if let text = string(top["kind"], "kind", expected: Manifest.Kind.allCases.map(\.rawValue).joined(separator: ", ")) {
                kind = Manifest.Kind(rawValue: text)
                if kind == nil { error(top["kind"], "kind", "expected one of \(Manifest.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'") }
            }
            var version: SemanticVersion?
            if let text = string(top["version"], "version", expected: "a semantic version like 1.2.0") {
                version = SemanticVersion(text)
                if version == nil { error(top["version"], "version", "expected a semantic version MAJOR.MINOR.PATCH like 1.2.0, got '\(text)'") }
            }
            let owner = string(top["owner"], "owner", expected: "a contact with an e-mail address, like 'Dana Ortiz <dana@clinic.example>'")
            if let owner, owner.firstMatch(of: ManifestParser.emailPattern) == nil {
                error(top["owner"], "owner", "expected a contact with an e-mail address, like 'Dana Ortiz <dana@clinic.example>', got '\(owner)'")
            }
            let team = string(top["team"], "team", expected: "the owning team's name")
            let description = string(top["description"], "description", expected: "a sentence on what the entry does")
            let entry = string(top["entry"], "entry", expected: "the plugin folder (or flow file), relative to the project root, like plugins/odoo",
                               pattern: /[A-Za-z0-9_][A-Za-z0-9_.\/-]*/)
            if let entry, entry.split(separator: "/").contains("..") { error(top["entry"], "entry", "must stay inside the project (no '..')") }
            var status: Manifest.Status?
            if let text = string(top["status"], "status", expected: Manifest.Status.allCases.map(\.rawValue).joined(separator: ", ")) {
                status = Manifest.Status(rawValue: text)
                if status == nil { error(top["status"], "status", "expected one of \(Manifest.Status.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'") }
            }
            let sla = top["sla"].flatMap { serviceLevel($0) }
            if top["sla"] == nil { warning(1, "sla", "no SLA: the board cannot tell what latency and availability this entry promises") }
            let data = top["data"].flatMap { dataUse($0) } ?? Manifest.DataUse()
            if data.classes.contains(.phi) && data.fields.isEmpty {
                warning(lines["data"] ?? 1, "data.fields", "PHI without a field list: name the fields that may leave (data minimisation)")
            }
            var rules: [EgressRule] = []
            var origins: [String] = []
            if let node = top["egress"] {
                let parsed = EgressManifest.rules(node) { node, field, message in
                    EgressManifest.Problem(file: self.file, line: node?.mark?.line ?? 1, field: field, message: message)
                }
                rules = parsed.rules
                origins = rules.map(\.origin)
                for problem in parsed.problems { problems.append(CatalogProblem(.error, file: file, line: problem.line, field: problem.field, message: problem.message)) }
            }
            let secrets = list(top["secrets"], "secrets", expected: "secret names like odoo/api_key", pattern: ManifestParser.secretPattern)
            var events = Manifest.Events()
            if let node = top["events"], let fields = mapping(node, "events", allowed: ManifestParser.eventFields) {
                events.consumes = list(fields["consumes"], "events.consumes", expected: "event types like service.completed", pattern: ManifestParser.eventPattern)
                events.produces = list(fields["produces"], "events.produces", expected: "event types like service.completed", pattern: ManifestParser.eventPattern)
            }
            var dependencies: [PluginReference] = []
            for (index, text) in list(top["depends_on"], "depends_on", expected: "plugin references like odoo@^1.2").enumerated() {
                guard let reference = PluginReference(text) else {
                    error(top["depends_on"]?.sequence?[index], "depends_on[\(index)]", "expected a plugin reference like odoo or odoo@^1.2, got '\(text)'")
                    continue
                }
                dependencies.append(reference)
            }
            var config: String?
            if let node = top["config"] {
                if node.mapping == nil { error(node, "config", "expected a mapping of settings the plugin reads as ctx.config") }
                else { config = json(node, "config") }
            }
            let approvals = top["approvals"].map { decisions($0) } ?? []
            guard let name, let kind, let version, let owner, let team, let description, let entry, let status else { return nil }
            return Manifest(name: name, kind: kind, version: version, owner: owner, team: team, description: description, entry: entry,
                            sla: sla, data: data, egress: EgressPolicy(rules: rules, secrets: Set(secrets)), egressOrigins: origins,
                            secrets: secrets, events: events, dependsOn: dependencies, config: config, status: status, approvals: approvals,
                            contentSHA256: "", file: file, lines: lines)
        }

        mutating func serviceLevel(_ node: Node) -> Manifest.ServiceLevel? {
            guard let fields = mapping(node, "sla", allowed: ManifestParser.slaFields) else { return nil }
            var level = Manifest.ServiceLevel()
            level.latencyP95Milliseconds = integer(fields["latency_p95_ms"], "sla.latency_p95_ms", range: 1...86_400_000)
            if let text = string(fields["max_delivery_delay"], "sla.max_delivery_delay", expected: "a duration like 15m, 2h or 1d") {
                level.maxDeliveryDelaySeconds = ManifestParser.duration(text)
                if level.maxDeliveryDelaySeconds == nil {
                    error(fields["max_delivery_delay"], "sla.max_delivery_delay", "expected a duration like 30s, 15m, 2h or 1d, got '\(text)'")
                }
            }
            if let node = fields["availability"] {
                if let value = node.float, (0...100).contains(value), value > 0 { level.availability = value } else {
                    error(node, "sla.availability", "expected a percentage between 0 and 100, like 99.9")
                }
            }
            if let node = fields["retry"], let retry = mapping(node, "sla.retry", allowed: ManifestParser.retryFields) {
                if let attempts = integer(retry["max_attempts"], "sla.retry.max_attempts", range: 1...1000) {
                    level.retry = Manifest.RetryPolicy(maxAttempts: attempts,
                                                       baseDelayMilliseconds: integer(retry["base_delay_ms"], "sla.retry.base_delay_ms", range: 1...3_600_000),
                                                       maxDelayMilliseconds: integer(retry["max_delay_ms"], "sla.retry.max_delay_ms", range: 1...86_400_000))
                } else if retry["max_attempts"] == nil {
                    error(node, "sla.retry.max_attempts", "missing (required)")
                }
            }
            return level
        }

        mutating func dataUse(_ node: Node) -> Manifest.DataUse? {
            guard let fields = mapping(node, "data", allowed: ManifestParser.dataFields) else { return nil }
            var data = Manifest.DataUse()
            let allowed = Manifest.DataClass.allCases.map(\.rawValue)
            for (index, text) in list(fields["classes"], "data.classes", expected: allowed.joined(separator: ", ")).enumerated() {
                if let value = Manifest.DataClass(rawValue: text) { data.classes.append(value) } else {
                    error(fields["classes"]?.sequence?[index], "data.classes[\(index)]", "expected one of \(allowed.joined(separator: ", ")), got '\(text)'")
                }
            }
            data.fields = list(fields["fields"], "data.fields", expected: "field names (or dotted paths) that may leave")
            data.masked = list(fields["masked"], "data.masked", expected: "field names masked in logs")
            return data
        }

        mutating func decisions(_ node: Node) -> [Manifest.Decision] {
            guard let sequence = node.sequence else { error(node, "approvals", "expected a list of decisions"); return [] }
            var result: [Manifest.Decision] = []
            for (index, item) in sequence.enumerated() {
                let field = "approvals[\(index)]"
                guard let fields = mapping(item, field, allowed: ManifestParser.decisionFields) else { continue }
                for key in ManifestParser.decisionFields where key != "files" && key != "manifest_sha256" && fields[key] == nil { error(item, "\(field).\(key)", "missing (required)") }
                let kinds = Manifest.Decision.Kind.allCases.map(\.rawValue)
                let kind = string(fields["decision"], "\(field).decision", expected: kinds.joined(separator: ", ")).flatMap { text -> Manifest.Decision.Kind? in
                    let kind = Manifest.Decision.Kind(rawValue: text)
                    if kind == nil { error(fields["decision"], "\(field).decision", "expected one of \(kinds.joined(separator: ", ")), got '\(text)'") }
                    return kind
                }
                let reviewer = string(fields["reviewer"], "\(field).reviewer", expected: "who decided")
                var at: Date?
                if let text = string(fields["at"], "\(field).at", expected: "an ISO 8601 time like 2026-11-21T10:00:00Z") {
                    at = ISO8601DateFormatter().date(from: text)
                    if at == nil { error(fields["at"], "\(field).at", "expected an ISO 8601 time like 2026-11-21T10:00:00Z, got '\(text)'") }
                }
                let reason = string(fields["reason"], "\(field).reason", expected: "why")
                let sha = string(fields["sha256"], "\(field).sha256", expected: "64 lower-case hex digits", pattern: ManifestParser.hashPattern)
                let manifestSHA = string(fields["manifest_sha256"], "\(field).manifest_sha256", expected: "64 lower-case hex digits", pattern: ManifestParser.hashPattern)
                var files: [String: String] = [:]
                if let node = fields["files"] {
                    if let mapping = node.mapping {
                        for (key, value) in mapping {
                            guard let path = key.string, let hash = value.string, hash.wholeMatch(of: ManifestParser.hashPattern) != nil else {
                                error(value, "\(field).files", "expected path: sha256 pairs")
                                continue
                            }
                            files[path] = hash
                        }
                    } else {
                        error(node, "\(field).files", "expected a mapping of path: sha256")
                    }
                }
                if let kind, let reviewer, let at, let reason, let sha {
                    result.append(Manifest.Decision(decision: kind, reviewer: reviewer, at: at, reason: reason, sha256: sha,
                                                    manifestSHA256: manifestSHA, files: files))
                }
            }
            return result
        }
    }
}
