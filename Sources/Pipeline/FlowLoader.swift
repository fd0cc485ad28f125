import Foundation
import Yams

/// Reads and validates `catalog/flows/*.yaml`. Every problem names the file, the line and the field, and says what
/// was expected; all problems of all files are reported together.
public enum FlowLoader {
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let file: String
        public let line: Int
        public let field: String
        public let message: String
        public var description: String { "\(file):\(line): \(field): \(message)" }
    }

    public struct Problems: Error, CustomStringConvertible {
        public let problems: [Problem]
        public var description: String { problems.map(\.description).joined(separator: "\n") }
    }

    /// Loads every flow in `directory`. `pluginExists` answers whether a plugin folder of that name exists.
    public static func load(directory: URL, pluginExists: (String) -> Bool) throws(Problems) -> [FlowDefinition] {
        let (flows, problems) = loadEach(directory: directory, pluginExists: pluginExists)
        if !problems.isEmpty { throw Problems(problems: problems) }
        return flows
    }

    /// Every flow that loads, and the problems of those that do not (production serves the good ones and names the rest).
    public static func loadEach(directory: URL, pluginExists: (String) -> Bool) -> (flows: [FlowDefinition], problems: [Problem]) {
        let files = ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { ["yaml", "yml"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var flows: [FlowDefinition] = []
        var problems: [Problem] = []
        for file in files {
            let shown = displayPath(file)
            guard let text = try? String(contentsOf: file, encoding: .utf8) else {
                problems.append(Problem(file: shown, line: 1, field: "(file)", message: "cannot read the file as UTF-8 text"))
                continue
            }
            switch parse(text, file: shown, pluginExists: pluginExists) {
            case .success(let flow): flows.append(flow)
            case .failure(let failure): problems.append(contentsOf: failure.problems)
            }
        }
        var seenSources: [String: String] = [:]
        var seenNames: [String: String] = [:]
        for flow in flows {
            if let other = seenNames[flow.name] {
                problems.append(Problem(file: flow.file, line: 1, field: "name", message: "flow '\(flow.name)' is also defined in \(other)"))
            }
            seenNames[flow.name] = flow.file
            if let other = seenSources[flow.source.plugin] {
                problems.append(Problem(file: flow.file, line: 1, field: "source.plugin",
                                        message: "source '\(flow.source.plugin)' already feeds the flow in \(other); one flow per source"))
            }
            seenSources[flow.source.plugin] = flow.file
        }
        let broken = Set(problems.map(\.file))
        return (flows.filter { !broken.contains($0.file) }, problems)
    }

    static func displayPath(_ url: URL) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        return url.path.hasPrefix(cwd) ? String(url.path.dropFirst(cwd.count)) : url.path
    }

    /// Parses one flow file.
    public static func parse(_ text: String, file: String, pluginExists: (String) -> Bool) -> Result<FlowDefinition, Problems> {
        var reader = Reader(file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return .failure(Problems(problems: [Problem(file: file, line: 1, field: "(file)", message: "the file is empty")]))
            }
            root = node
        } catch {
            return .failure(Problems(problems: [Problem(file: file, line: 1, field: "(file)", message: "not valid YAML: \(error)")]))
        }
        let flow = reader.flow(root, pluginExists: pluginExists)
        if let flow, reader.problems.isEmpty { return .success(flow) }
        return .failure(Problems(problems: reader.problems))
    }

    /// Walks the YAML nodes, collecting problems with their line.
    struct Reader {
        let file: String
        var problems: [Problem] = []

        mutating func problem(_ node: Node?, _ field: String, _ message: String) {
            problems.append(Problem(file: file, line: node?.mark?.line ?? 1, field: field, message: message)) // Yams marks are 1-based
        }

        mutating func mapping(_ node: Node, _ field: String, allowed: [String], required: [String]) -> [String: Node]? {
            guard let mapping = node.mapping else {
                problem(node, field, "expected a mapping with keys \(allowed.joined(separator: ", "))")
                return nil
            }
            var result: [String: Node] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { problem(key, field, "keys must be strings"); continue }
                let path = field.isEmpty ? name : "\(field).\(name)"
                if !allowed.contains(name) {
                    problem(key, path, "unknown key (expected one of \(allowed.joined(separator: ", ")))")
                    continue
                }
                result[name] = value
            }
            for name in required where result[name] == nil {
                problem(node, field.isEmpty ? name : "\(field).\(name)", "missing (required)")
            }
            return result
        }

        mutating func string(_ node: Node?, _ field: String, pattern: Regex<Substring>? = nil, expected: String = "a string") -> String? {
            guard let node else { return nil }
            guard case .scalar(let scalar) = node, !scalar.string.isEmpty else { problem(node, field, "expected \(expected)"); return nil }
            if let pattern, scalar.string.wholeMatch(of: pattern) == nil {
                problem(node, field, "expected \(expected), got '\(scalar.string)'")
                return nil
            }
            return scalar.string
        }

        mutating func integer(_ node: Node?, _ field: String, range: ClosedRange<Int>) -> Int? {
            guard let node else { return nil }
            guard let value = node.int, range.contains(value) else {
                problem(node, field, "expected an integer between \(range.lowerBound) and \(range.upperBound)")
                return nil
            }
            return value
        }

        mutating func strings(_ node: Node?, _ field: String, expected: String, pattern: Regex<Substring>? = nil) -> [String]? {
            guard let node else { return nil }
            guard let sequence = node.sequence, !sequence.isEmpty else { problem(node, field, "expected a non-empty list of \(expected)"); return nil }
            var values: [String] = []
            for (index, item) in sequence.enumerated() {
                if let value = string(item, "\(field)[\(index)]", pattern: pattern, expected: expected) { values.append(value) }
            }
            return values.count == sequence.count ? values : nil
        }

        /// A plugin reference: `NAME` or `NAME@REQUIREMENT` (`clinic-webhook@^1.2`); `exists` answers for the whole
        /// reference (the catalog checks that some version satisfies it).
        mutating func plugin(_ node: Node?, _ field: String, exists: (String) -> Bool) -> String? {
            guard let text = string(node, field, expected: "a plugin name (lower-case letters, digits, '-'), optionally @version or @range") else { return nil }
            guard let reference = PluginReference(text) else {
                problem(node, field, "expected a plugin name (lower-case letters, digits, '-'), optionally @version or @range like @1.2.0 or @^1.2, got '\(text)'")
                return nil
            }
            if !exists(text) {
                problem(node, field, reference.requirement == .any ? "no plugin '\(reference.name)'" : "no version of plugin '\(reference.name)' satisfies \(reference.requirement)")
                return nil
            }
            return text
        }

        let pluginName = /[a-z][a-z0-9]*(?:-[a-z0-9]+)*/
        let eventName = /[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+/
        let mediaType = /[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+/
        let headerName = /[A-Za-z0-9-]+/

        mutating func flow(_ root: Node, pluginExists: (String) -> Bool) -> FlowDefinition? {
            guard let top = mapping(root, "", allowed: ["name", "description", "source", "routes", "schedules", "concurrency", "retry"],
                                    required: ["name", "source", "routes"]) else { return nil }
            let name = string(top["name"], "name", pattern: pluginName, expected: "a flow name (lower-case letters, digits, '-')")
            let description = top["description"].flatMap { string($0, "description") } ?? ""

            var source: FlowDefinition.Source?
            if let node = top["source"], let fields = mapping(node, "source", allowed: ["plugin", "content_types", "max_body_bytes", "idempotency_headers", "ordering_key", "auth"],
                                                              required: ["plugin", "content_types"]) {
                let plugin = self.plugin(fields["plugin"], "source.plugin", exists: pluginExists)
                let types = strings(fields["content_types"], "source.content_types", expected: "media types like application/json", pattern: mediaType)
                let maxBody = fields["max_body_bytes"].map { integer($0, "source.max_body_bytes", range: 1...64 << 20) } ?? 1 << 20
                let headers = fields["idempotency_headers"].map { strings($0, "source.idempotency_headers", expected: "header names", pattern: headerName) } ?? []
                var ordering: String?
                if let node = fields["ordering_key"] {
                    ordering = string(node, "source.ordering_key", pattern: /(?:\/[^\/]*)+|[A-Z][A-Z0-9]{2}-[1-9][0-9]{0,2}(?:\.[1-9][0-9]{0,2}){0,2}/,
                                      expected: "a JSON pointer like /appointment/id, or for HL7 v2 a field like SCH-2 or PID-3.1")
                }
                var auth: FlowDefinition.Auth?
                var authValid = true
                if let node = fields["auth"] {
                    auth = self.auth(node)
                    authValid = auth != nil
                }
                if let plugin, let reference = PluginReference(plugin), let types, let maxBody, let headers, authValid {
                    source = FlowDefinition.Source(plugin: reference.name, contentTypes: types, maxBodyBytes: maxBody,
                                                   idempotencyHeaders: headers, orderingKey: ordering, auth: auth,
                                                   requirement: reference.requirement)
                }
            }

            var routes: [FlowDefinition.Route] = []
            if let node = top["routes"] {
                if let sequence = node.sequence, !sequence.isEmpty {
                    var events = Set<String>()
                    for (index, item) in sequence.enumerated() {
                        let field = "routes[\(index)]"
                        guard let route = mapping(item, field, allowed: ["event", "mappings", "connector"], required: ["event", "connector"]) else { continue }
                        let event = string(route["event"], "\(field).event", pattern: eventName, expected: "an event type like appointment.completed")
                        let mappings = route["mappings"].map { node -> [String]? in
                            guard let sequence = node.sequence, !sequence.isEmpty else {
                                problem(node, "\(field).mappings", "expected a non-empty list of plugin names")
                                return nil
                            }
                            let list = sequence.enumerated().compactMap { i, item in plugin(item, "\(field).mappings[\(i)]", exists: pluginExists) }
                            return list.count == sequence.count ? list : nil
                        } ?? []
                        let connector = plugin(route["connector"], "\(field).connector", exists: pluginExists)
                        // An event may fan out to several connectors (an invoice to Odoo, a claim to the clearinghouse)
                        // and to one connector through different mappings (an appointment to Odoo's calendar and to its
                        // purchase suggestions), but the same event through the same mappings to the same connector
                        // twice is a copy-paste slip that would deliver twice.
                        let chain = "\(event ?? "") → \((mappings ?? []).joined(separator: ", ")) → \(connector ?? "")"
                        if let event, let connector, events.contains(chain) {
                            let through = (mappings ?? []).isEmpty ? "" : " through \((mappings ?? []).joined(separator: ", "))"
                            problem(route["event"], "\(field).event", "event '\(event)' is routed\(through) to \(connector) twice in this flow")
                        }
                        if event != nil, connector != nil { events.insert(chain) }
                        if let event, let mappings, let connector {
                            routes.append(FlowDefinition.Route(event: event, mappings: mappings, connector: connector))
                        }
                    }
                } else {
                    problem(node, "routes", "expected a non-empty list of routes (event, mappings, connector)")
                }
            }

            var schedules: [FlowDefinition.Schedule] = []
            if let node = top["schedules"] {
                // A schedule runs the source, a connector or a mapping of this flow (a mapping's poll reads its own
                // ledger, e.g. the appointments due for a reminder).
                schedules = self.schedules(node, source: source?.reference, connectors: Set(routes.map(\.connector) + routes.flatMap(\.mappings)))
            }

            let concurrency = top["concurrency"].map { integer($0, "concurrency", range: 1...256) } ?? 4
            var retry = FlowDefinition.RetryPolicy.standard
            if let node = top["retry"], let fields = mapping(node, "retry", allowed: ["max_attempts", "base_delay_ms", "max_delay_ms", "max_age_s"], required: []) {
                if let value = fields["max_attempts"].flatMap({ integer($0, "retry.max_attempts", range: 1...100) }) { retry.maxAttempts = value }
                if let value = fields["base_delay_ms"].flatMap({ integer($0, "retry.base_delay_ms", range: 1...3_600_000) }) { retry.baseDelayMilliseconds = value }
                if let value = fields["max_delay_ms"].flatMap({ integer($0, "retry.max_delay_ms", range: 1...86_400_000) }) { retry.maxDelayMilliseconds = value }
                if let value = fields["max_age_s"].flatMap({ integer($0, "retry.max_age_s", range: 1...30 * 86_400) }) { retry.maxAgeSeconds = value }
                if retry.maxDelayMilliseconds < retry.baseDelayMilliseconds {
                    problem(node, "retry.max_delay_ms", "must be at least retry.base_delay_ms (\(retry.baseDelayMilliseconds))")
                }
            }
            guard let name, let source, let concurrency, problems.isEmpty else { return nil }
            return FlowDefinition(name: name, description: description, source: source, routes: routes, schedules: schedules,
                                  concurrency: concurrency, retry: retry, file: file)
        }

        mutating func auth(_ node: Node) -> FlowDefinition.Auth? {
            guard let fields = mapping(node, "source.auth", allowed: ["scheme", "secrets", "tolerance_s", "public_url"], required: ["scheme", "secrets"]) else {
                return nil
            }
            let schemes = FlowDefinition.Auth.Scheme.allCases.map(\.rawValue)
            var scheme: FlowDefinition.Auth.Scheme?
            if let text = string(fields["scheme"], "source.auth.scheme", expected: schemes.joined(separator: ", ")) {
                scheme = FlowDefinition.Auth.Scheme(rawValue: text)
                if scheme == nil { problem(fields["scheme"], "source.auth.scheme", "expected one of \(schemes.joined(separator: ", ")), got '\(text)'") }
            }
            let secrets = strings(fields["secrets"], "source.auth.secrets", expected: "secret names like payments/webhook_secret",
                                  pattern: /[a-z0-9][a-z0-9_.-]*(?:\/[a-z0-9][a-z0-9_.-]*)*/)
            let tolerance = fields["tolerance_s"].map { integer($0, "source.auth.tolerance_s", range: 1...3600) } ?? 300
            var publicURL: String?
            if let node = fields["public_url"] {
                publicURL = string(node, "source.auth.public_url", pattern: /https?:\/\/[^\s?#]+/,
                                   expected: "the http(s) URL the partner posts to, without a query (e.g. https://conflux.example/ingest/messaging-status)")
                if publicURL == nil { return nil }
                if scheme != .twilio { problem(node, "source.auth.public_url", "public_url is used only by scheme twilio") }
            } else if scheme == .twilio {
                problem(fields["scheme"], "source.auth.public_url", "scheme twilio needs public_url: the URL configured at the partner, which it signs")
                return nil
            }
            guard let scheme, let secrets, let tolerance else { return nil }
            return FlowDefinition.Auth(scheme: scheme, secrets: secrets, toleranceSeconds: tolerance, publicURL: publicURL)
        }

        mutating func schedules(_ node: Node, source: String?, connectors: Set<String>) -> [FlowDefinition.Schedule] {
            guard let sequence = node.sequence, !sequence.isEmpty else {
                problem(node, "schedules", "expected a non-empty list of schedules (name, cron, plugin, hook)")
                return []
            }
            var schedules: [FlowDefinition.Schedule] = []
            var names = Set<String>()
            for (index, item) in sequence.enumerated() {
                let field = "schedules[\(index)]"
                guard let fields = mapping(item, field, allowed: ["name", "cron", "timezone", "plugin", "hook"],
                                           required: ["name", "cron", "plugin", "hook"]) else { continue }
                let name = string(fields["name"], "\(field).name", pattern: pluginName, expected: "a schedule name (lower-case letters, digits, '-')")
                if let name, !names.insert(name).inserted { problem(fields["name"], "\(field).name", "schedule '\(name)' is declared twice") }
                var zone = TimeZone(identifier: "UTC")!
                if let node = fields["timezone"], let identifier = string(node, "\(field).timezone", expected: "an IANA time zone like Europe/Berlin") {
                    if let named = TimeZone(identifier: identifier) { zone = named } else {
                        problem(node, "\(field).timezone", "unknown time zone '\(identifier)' (expected an IANA name like Europe/Berlin)")
                    }
                }
                var cron: CronSchedule?
                if let text = string(fields["cron"], "\(field).cron", expected: "a cron expression like '0 2 * * *'") {
                    do { cron = try CronSchedule(text, timeZone: zone) } catch { problem(fields["cron"], "\(field).cron", error.message) }
                }
                var plugin = string(fields["plugin"], "\(field).plugin", expected: "a plugin reference")
                if let name = plugin, name != source, !connectors.contains(name) {
                    problem(fields["plugin"], "\(field).plugin",
                            "'\(name)' is not this flow's source or one of its mappings or connectors (\(([source].compactMap { $0 } + connectors.sorted()).joined(separator: ", ")))")
                    plugin = nil
                }
                let hook = string(fields["hook"], "\(field).hook", pattern: /poll|reconcile/, expected: "poll or reconcile")
                if let name, let cron, let plugin, let hook {
                    schedules.append(FlowDefinition.Schedule(name: name, cron: cron, plugin: plugin, hook: hook))
                }
            }
            return schedules
        }
    }
}
