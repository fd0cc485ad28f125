import Foundation
import LuaRuntime
import Pipeline

/// Checks across entries: duplicates, entry folders, secrets and events no one provides, dependencies that resolve
/// to nothing or form a cycle, flows naming plugins or versions that do not exist.
struct CatalogValidator {
    let catalog: Catalog
    var problems: [CatalogProblem] = []

    init(catalog: Catalog) { self.catalog = catalog }

    mutating func check() -> [CatalogProblem] {
        duplicates()
        for manifest in catalog.entries {
            entryFolder(manifest)
            secrets(manifest)
            events(manifest)
            dependencies(manifest)
            if manifest.kind == .flow { flow(manifest) }
        }
        cycles()
        return problems
    }

    private mutating func error(_ manifest: Manifest, _ field: String, _ message: String, line: Int? = nil) {
        problems.append(CatalogProblem(.error, file: manifest.file, line: line ?? manifest.line(field.split(separator: ".").first.map(String.init) ?? field),
                                       field: field, message: message, entry: manifest.id))
    }

    private mutating func warning(_ manifest: Manifest, _ field: String, _ message: String) {
        problems.append(CatalogProblem(.warning, file: manifest.file, line: manifest.line(field), field: field, message: message, entry: manifest.id))
    }

    private mutating func duplicates() {
        var seen: [String: String] = [:]
        for manifest in catalog.entries {
            if let other = seen[manifest.id] { error(manifest, "version", "\(manifest.id) is also defined in \(other); bump the version") }
            seen[manifest.id] = manifest.file
        }
    }

    private mutating func entryFolder(_ manifest: Manifest) {
        let url = catalog.entryURL(manifest)
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if manifest.kind == .flow {
            if !exists || isDirectory.boolValue { error(manifest, "entry", "expected the flow file (like catalog/flows/NAME.yaml); \(manifest.entry) is not a file") }
            return
        }
        guard exists, isDirectory.boolValue else { error(manifest, "entry", "expected the plugin folder (like plugins/NAME); \(manifest.entry) is not a folder"); return }
        if !FileManager.default.fileExists(atPath: url.appendingPathComponent(Plugin.entryFileName).path) {
            error(manifest, "entry", "\(manifest.entry) has no \(Plugin.entryFileName)")
        }
        if Plugin(name: manifest.name, folder: url).specFiles().isEmpty {
            warning(manifest, "entry", "no tests in \(manifest.entry)/spec: a hot reload has nothing to check before it goes live")
        }
        if manifest.kind == .connector && manifest.egress.rules.isEmpty {
            warning(manifest, "egress", "a connector with no egress list can call nothing")
        }
    }

    private mutating func secrets(_ manifest: Manifest) {
        let declared = Set(catalog.secrets.map(\.name))
        for (index, secret) in manifest.secrets.enumerated() where !declared.contains(secret) {
            error(manifest, "secrets[\(index)]", "no one provides secret '\(secret)': declare it (name, owner) in catalog/\(Catalog.secretInventoryFile)")
        }
    }

    private mutating func events(_ manifest: Manifest) {
        let produced = Set(catalog.entries.flatMap(\.events.produces))
        for (index, event) in manifest.events.consumes.enumerated() where !produced.contains(event) {
            error(manifest, "events.consumes[\(index)]", "no entry produces '\(event)' (list it under events.produces of the entry that emits it)")
        }
    }

    private mutating func dependencies(_ manifest: Manifest) {
        for (index, reference) in manifest.dependsOn.enumerated() {
            if catalog.entry(for: reference, kinds: Set(Manifest.Kind.allCases)) == nil {
                let versions = catalog.entries.filter { $0.name == reference.name }.map(\.version.description)
                error(manifest, "depends_on[\(index)]", versions.isEmpty
                      ? "no entry named '\(reference.name)' in the catalog"
                      : "no version of '\(reference.name)' satisfies \(reference.requirement) (catalog has \(versions.joined(separator: ", ")))")
            }
        }
    }

    /// A flow's file must parse, carry the manifest's name, and name only plugins (and versions) the catalog holds.
    private mutating func flow(_ manifest: Manifest) {
        let url = catalog.entryURL(manifest)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
        let result = FlowLoader.parse(text, file: catalog.display(url)) { text in
            PluginReference(text).map { catalog.entry(for: $0) != nil } ?? false
        }
        switch result {
        case .success(let flow):
            if flow.name != manifest.name { error(manifest, "name", "the flow file \(manifest.entry) defines flow '\(flow.name)', not '\(manifest.name)'") }
            let produced = PluginReference(flow.source.reference).flatMap { catalog.entry(for: $0) }?.events.produces ?? []
            for route in flow.routes where !produced.isEmpty && !produced.contains(route.event) {
                warning(manifest, "entry", "route '\(route.event)' in \(manifest.entry): the source's entry does not list it under events.produces")
            }
        case .failure(let failure):
            for problem in failure.problems {
                problems.append(CatalogProblem(.error, file: problem.file, line: problem.line, field: problem.field, message: problem.message,
                                               entry: manifest.id))
            }
        }
    }

    /// Depth-first over resolved dependencies; each cycle is reported once, at its first entry, with its path.
    private mutating func cycles() {
        var state: [String: Int] = [:]   // 1 visiting, 2 done
        var stack: [Manifest] = []
        var reported = Set<String>()
        func visit(_ manifest: Manifest) {
            state[manifest.id] = 1
            stack.append(manifest)
            for reference in manifest.dependsOn {
                guard let next = catalog.entry(for: reference, kinds: Set(Manifest.Kind.allCases)) else { continue }
                if state[next.id] == 1 {
                    let start = stack.firstIndex { $0.id == next.id } ?? 0
                    let path = stack[start...].map(\.id) + [next.id]
                    if reported.insert(Set(path).sorted().joined(separator: ",")).inserted {
                        error(next, "depends_on", "dependency cycle: \(path.joined(separator: " → "))")
                    }
                } else if state[next.id] == nil {
                    visit(next)
                }
            }
            stack.removeLast()
            state[manifest.id] = 2
        }
        for manifest in catalog.entries where state[manifest.id] == nil { visit(manifest) }
    }
}
