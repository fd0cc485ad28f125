import Foundation
import Store

/// The lifecycle of a catalog entry: draft → submitted → approved → deprecated → retired, plus rejected (which can
/// be submitted again). Each transition is written into the manifest (status and a decision with the folder hash)
/// and recorded in the audit chain; four eyes: neither the owner nor the submitter may approve or reject.
public enum LifecycleAction: String, Sendable, CaseIterable {
    case submit, approve, reject, deprecate, retire

    public var target: Manifest.Status {
        switch self {
        case .submit: .submitted
        case .approve: .approved
        case .reject: .rejected
        case .deprecate: .deprecated
        case .retire: .retired
        }
    }

    var decision: Manifest.Decision.Kind {
        switch self {
        case .submit: .submitted
        case .approve: .approved
        case .reject: .rejected
        case .deprecate: .deprecated
        case .retire: .retired
        }
    }

    public var allowedFrom: [Manifest.Status] {
        switch self {
        case .submit: [.draft, .rejected]
        case .approve, .reject: [.submitted]
        case .deprecate: [.approved]
        case .retire: [.draft, .submitted, .approved, .rejected, .deprecated]
        }
    }
}

public struct GovernanceError: Error, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable { case notFound = "not_found", invalidTransition = "invalid_transition", fourEyes = "four_eyes",
                                         invalidEntry = "invalid_entry", missingReason = "missing_reason", writeFailed = "write_failed" }
    public let code: Code
    public let description: String
}

public struct Governance: Sendable {
    public let projectRoot: URL
    public let catalogDirectory: URL
    public let audit: any AuditLog

    public init(projectRoot: URL, catalogDirectory: URL? = nil, audit: any AuditLog) {
        self.projectRoot = projectRoot
        self.catalogDirectory = catalogDirectory ?? projectRoot.appendingPathComponent("catalog")
        self.audit = audit
    }

    /// Applies `action` to the entry `NAME@VERSION` on behalf of `by`; returns the entry as written.
    public func apply(_ action: LifecycleAction, id: String, by: String, reason: String, at: Date = Date()) async throws -> Manifest {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        let by = by.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw GovernanceError(code: .missingReason, description: "\(action.rawValue) \(id): a reason is required (--reason \"…\")") }
        guard !by.isEmpty else { throw GovernanceError(code: .missingReason, description: "\(action.rawValue) \(id): who decides is required (--by)") }
        let catalog = Catalog.load(projectRoot: projectRoot, directory: catalogDirectory)
        guard let manifest = catalog.entry(id: id) else {
            let known = catalog.entries.map(\.id).sorted()
            throw GovernanceError(code: .notFound, description: "no catalog entry \(id)" + (known.isEmpty ? "" : " (catalog has: \(known.joined(separator: ", ")))"))
        }
        guard action.allowedFrom.contains(manifest.status) else {
            throw GovernanceError(code: .invalidTransition, description: "cannot \(action.rawValue) \(id): it is \(manifest.status.rawValue) "
                                  + "(\(action.rawValue) applies to \(action.allowedFrom.map(\.rawValue).joined(separator: ", ")))")
        }
        let errors = catalog.problems(of: id)
        if [.submit, .approve].contains(action), !errors.isEmpty {
            throw GovernanceError(code: .invalidEntry, description: "cannot \(action.rawValue) \(id): the entry has errors:\n"
                                  + errors.map(\.description).joined(separator: "\n"))
        }
        if action == .approve || action == .reject {
            if Self.samePerson(by, manifest.owner) {
                throw GovernanceError(code: .fourEyes, description: "four eyes: \(by) owns \(id) and cannot \(action.rawValue) it; another reviewer must")
            }
            if let submitter = manifest.submitter, Self.samePerson(by, submitter) {
                throw GovernanceError(code: .fourEyes, description: "four eyes: \(by) submitted \(id) and cannot \(action.rawValue) it; another reviewer must")
            }
        }
        guard let hash = catalog.hashes[id] else { throw GovernanceError(code: .invalidEntry, description: "cannot hash \(manifest.entry)") }
        let decision = Manifest.Decision(decision: action.decision, reviewer: by, at: at, reason: reason, sha256: hash.sha256,
                                         manifestSHA256: manifest.contentSHA256, files: action == .approve || action == .submit ? hash.files : [:])
        let file = catalog.projectRoot.appendingPathComponent(manifest.file)
        guard let original = try? String(contentsOf: file, encoding: .utf8) else {
            throw GovernanceError(code: .writeFailed, description: "cannot read \(manifest.file)")
        }
        let updated = ManifestWriter.replacing(status: action.target, approvals: manifest.approvals + [decision], in: original)
        // The rewritten file must say exactly what we meant before it replaces the reviewed one.
        let (reparsed, _) = ManifestParser.parse(updated, file: manifest.file)
        guard let reparsed, reparsed.status == action.target, reparsed.approvals.count == manifest.approvals.count + 1,
              reparsed.approvals.last?.reason == reason, reparsed.approvals.last?.reviewer == by else {
            throw GovernanceError(code: .writeFailed, description: "internal: rewriting \(manifest.file) did not produce the decision; the file is unchanged")
        }
        try write(updated, to: file)
        do {
            try await audit.audit([AuditEntry(actor: by, action: "catalog.\(action.target.rawValue)", subject: id, detail: AuditDetail.object([
                "from": .string(manifest.status.rawValue), "to": .string(action.target.rawValue), "reason": .string(reason),
                "sha256": .string(hash.sha256), "file": .string(manifest.file),
            ]))], at: at)
        } catch {
            try? write(original, to: file)
            throw GovernanceError(code: .writeFailed, description: "cannot record the decision in the audit trail (\(error)); \(manifest.file) is unchanged")
        }
        return reparsed
    }

    private func write(_ text: String, to file: URL) throws {
        do {
            try Data(text.utf8).write(to: file, options: .atomic)
        } catch {
            throw GovernanceError(code: .writeFailed, description: "cannot write \(file.path): \(error)")
        }
    }

    /// Same person: the same e-mail address, or the same name, ignoring case.
    static func samePerson(_ a: String, _ b: String) -> Bool {
        func emails(_ text: String) -> Set<String> { Set(text.matches(of: ManifestParser.emailPattern).map { String($0.output).lowercased() }) }
        func name(_ text: String) -> String {
            (text.split(separator: "<").first.map(String.init) ?? text).trimmingCharacters(in: .whitespaces).lowercased()
        }
        let (ea, eb) = (emails(a), emails(b))
        if !ea.isDisjoint(with: eb) { return true }
        if !ea.isEmpty && !eb.isEmpty { return false }
        return !name(a).isEmpty && name(a) == name(b)
    }
}
