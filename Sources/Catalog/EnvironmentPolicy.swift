import Foundation

/// Which catalog entries an environment runs. `production` runs only approved (or deprecated) entries whose folder
/// hash is the one the approval pinned; `staging` and `dev` run any entry without errors. An entry that is refused is
/// named with its reason and the others keep serving.
public enum RuntimeEnvironment: String, Sendable, CaseIterable {
    case dev, staging, production

    /// Environments where saved plugins go live without review (and are watched for changes).
    public var hotReloads: Bool { self != .production }

    /// Plugin folders outside the catalog may run (development without manifests).
    public var allowsUncataloged: Bool { self != .production }
}

public struct LoadDecision: Sendable, Equatable {
    public let id: String
    /// nil: the entry loads.
    public let refusal: String?
}

extension Catalog {
    /// For each entry, whether `environment` runs it and, if not, why.
    public func decisions(for environment: RuntimeEnvironment) -> [LoadDecision] {
        entries.map { LoadDecision(id: $0.id, refusal: refusal(of: $0, in: environment)) }
    }

    public func refusal(of manifest: Manifest, in environment: RuntimeEnvironment) -> String? {
        let errors = problems(of: manifest.id)
        if !errors.isEmpty {
            return "invalid manifest: " + errors.map { "\($0.file):\($0.line): \($0.field): \($0.message)" }.joined(separator: "; ")
        }
        guard environment == .production else { return nil }
        switch manifest.status {
        case .retired: return "retired"
        case .draft, .submitted, .rejected: return "unapproved (status \(manifest.status.rawValue))"
        case .approved, .deprecated: break
        }
        guard let approval = manifest.standingApproval else { return "unapproved (no approval recorded)" }
        if let pinned = approval.manifestSHA256, pinned != manifest.contentSHA256 {
            return "manifest changed since approval: approved manifest sha256 \(pinned), now \(manifest.contentSHA256)"
        }
        guard let now = hashes[manifest.id] else { return "cannot hash \(manifest.entry)" }
        if now.sha256 != approval.sha256 {
            let changes = now.changes(since: approval.files)
            let changed = changes.modified.map { "modified \($0)" } + changes.added.map { "added \($0)" } + changes.removed.map { "removed \($0)" }
            return "hash mismatch: approved sha256 \(approval.sha256), folder now \(now.sha256)"
                + (changed.isEmpty ? "" : " (\(changed.joined(separator: ", ")))")
        }
        return nil
    }
}
