import Foundation
import Pipeline
import Yams

/// The catalog as it is on disk: every manifest of `catalog/*.yaml`, the secret inventory (`catalog/secrets.yaml`),
/// the hash of every entry's folder now, and every problem found — in one file or across entries.
public struct Catalog: Sendable {
    public static let secretInventoryFile = "secrets.yaml"
    public static let schemaFile = "manifest.schema.json"

    /// A credential the catalog's plugins may use, declared once with who provides it.
    public struct SecretDeclaration: Sendable, Equatable {
        public var name: String
        public var owner: String
        public var description: String
        public var rotateDays: Int?
    }

    public let projectRoot: URL
    public let directory: URL
    /// Entries that parsed (an entry can parse and still have cross-entry errors: see `problems(of:)`).
    public private(set) var entries: [Manifest]
    public private(set) var secrets: [SecretDeclaration]
    public private(set) var problems: [CatalogProblem]
    /// Each entry's folder hash now, by id; a failure (missing folder, a symlink) is an error in `problems`.
    public private(set) var hashes: [String: FolderHash]

    public var errors: [CatalogProblem] { problems.filter { $0.severity == .error } }
    public var warnings: [CatalogProblem] { problems.filter { $0.severity == .warning } }

    /// Loads `directory` (default: `catalog/` under the project root) and checks it whole. Entries' paths are relative
    /// to the catalog folder's parent — the project the catalog describes — so a catalog elsewhere (a test's, a
    /// deployment's) names its own plugins.
    public static func load(projectRoot: URL, directory: URL? = nil) -> Catalog {
        let directory = (directory ?? projectRoot.appendingPathComponent("catalog")).standardizedFileURL
        let projectRoot = directory.deletingLastPathComponent()
        var catalog = Catalog(projectRoot: projectRoot, directory: directory, entries: [], secrets: [], problems: [], hashes: [:])
        let files = ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { ["yaml", "yml"].contains($0.pathExtension) && $0.lastPathComponent != secretInventoryFile }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        for file in files {
            let shown = catalog.display(file)
            guard let text = try? String(contentsOf: file, encoding: .utf8) else {
                catalog.problems.append(CatalogProblem(.error, file: shown, line: 1, field: "(file)", message: "cannot read the file as UTF-8 text"))
                continue
            }
            let (manifest, problems) = ManifestParser.parse(text, file: shown)
            catalog.problems += problems
            if let manifest { catalog.entries.append(manifest) }
        }
        catalog.loadSecretInventory()
        catalog.hashEntries()
        var validator = CatalogValidator(catalog: catalog)
        catalog.problems += validator.check()
        return catalog
    }

    public func display(_ url: URL) -> String {
        let base = projectRoot.standardizedFileURL.path + "/"
        let path = url.standardizedFileURL.path
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    /// The entry's folder (or flow file) on disk.
    public func entryURL(_ manifest: Manifest) -> URL { projectRoot.appendingPathComponent(manifest.entry).standardizedFileURL }

    /// The entry `NAME@VERSION` names exactly.
    public func entry(id: String) -> Manifest? { entries.first { $0.id == id } }

    /// The highest version of a plugin (not a flow) that satisfies the reference.
    public func entry(for reference: PluginReference, kinds: Set<Manifest.Kind> = [.source, .mapping, .connector]) -> Manifest? {
        entries.filter { $0.name == reference.name && kinds.contains($0.kind) && reference.requirement.matches($0.version) }
            .max { $0.version < $1.version }
    }

    /// The errors that keep an entry out of every environment.
    public func problems(of id: String) -> [CatalogProblem] { errors.filter { $0.entry == id } }

    private mutating func loadSecretInventory() {
        let file = directory.appendingPathComponent(Self.secretInventoryFile)
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return }
        let shown = display(file)
        func problem(_ node: Node?, _ field: String, _ message: String) {
            problems.append(CatalogProblem(.error, file: shown, line: node?.mark?.line ?? 1, field: field, message: message))
        }
        guard let root = try? Yams.compose(yaml: text), let top = root.mapping, let list = top["secrets"]?.sequence else {
            problem(nil, "secrets", "expected a mapping with 'secrets:' listing {name, owner, description, rotate_days}")
            return
        }
        for (index, item) in list.enumerated() {
            let field = "secrets[\(index)]"
            guard let fields = item.mapping else { problem(item, field, "expected {name, owner, description, rotate_days}"); continue }
            for (key, _) in fields where !["name", "owner", "description", "rotate_days"].contains(key.string ?? "") {
                problem(key, "\(field).\(key.string ?? "?")", "unknown key (expected one of name, owner, description, rotate_days)")
            }
            guard let name = fields["name"]?.string, name.wholeMatch(of: ManifestParser.secretPattern) != nil else {
                problem(fields["name"] ?? item, "\(field).name", "expected a secret name like odoo/api_key")
                continue
            }
            guard let owner = fields["owner"]?.string, !owner.isEmpty else { problem(item, "\(field).owner", "missing (required): who provides it"); continue }
            if secrets.contains(where: { $0.name == name }) { problem(item, "\(field).name", "'\(name)' is declared twice") }
            secrets.append(SecretDeclaration(name: name, owner: owner, description: fields["description"]?.string ?? "",
                                             rotateDays: fields["rotate_days"]?.int))
        }
    }

    private mutating func hashEntries() {
        for manifest in entries {
            do {
                hashes[manifest.id] = try FolderHash.of(entryURL(manifest))
            } catch {
                problems.append(CatalogProblem(.error, file: manifest.file, line: manifest.line("entry"), field: "entry",
                                               message: "cannot hash the entry: \(error)", entry: manifest.id))
            }
        }
    }
}
