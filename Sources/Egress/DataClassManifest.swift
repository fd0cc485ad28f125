import Foundation
import Yams

/// Reads `phi_fields` from the catalog's plugin manifests: the field names whose values are personal data, masked
/// in that plugin's log lines and errors (see PHIRedaction).
///
/// ```yaml
/// name: scheduling-to-odoo
/// phi_fields: [family_name, given_name, mrn, birth_date]
/// ```
///
/// A reader of its own beside EgressManifest until the catalog loader reads whole manifests.
public enum DataClassManifest {
    public static func load(directory: URL) throws(EgressManifest.Problems) -> [String: Set<String>] {
        let files = ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { ["yaml", "yml"].contains($0.pathExtension) }
        var fields: [String: Set<String>] = [:]
        var problems: [EgressManifest.Problem] = []
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8), let root = try? Yams.compose(yaml: text),
                  let top = root.mapping, let name = top["name"]?.string, let node = top["phi_fields"] else { continue }
            guard let list = node.sequence else {
                problems.append(.init(file: file.path, line: node.mark?.line ?? 1, field: "phi_fields", message: "expected a list of field names"))
                continue
            }
            var names = Set<String>()
            for (index, item) in list.enumerated() {
                guard let field = item.string, !field.isEmpty else {
                    problems.append(.init(file: file.path, line: item.mark?.line ?? 1, field: "phi_fields[\(index)]", message: "expected a field name"))
                    continue
                }
                names.insert(field)
            }
            fields[name] = names
        }
        if !problems.isEmpty { throw EgressManifest.Problems(problems: problems) }
        return fields
    }
}
