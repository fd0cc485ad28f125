import Egress
import Foundation
import Pipeline

/// One catalog entry (`catalog/NAME-VERSION.yaml`): what a plugin or flow is, who owns it, what data it touches,
/// where it may send it, and every governance decision taken on it. The schema editors validate against is
/// `catalog/manifest.schema.json`; `ManifestParser` is what the runtime enforces.
public struct Manifest: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case source, mapping, connector, flow }

    public enum Status: String, Sendable, CaseIterable { case draft, submitted, approved, rejected, deprecated, retired }

    public enum DataClass: String, Sendable, CaseIterable { case phi, pii, financial }

    public struct RetryPolicy: Sendable, Equatable {
        public var maxAttempts: Int
        public var baseDelayMilliseconds: Int?
        public var maxDelayMilliseconds: Int?
    }

    public struct ServiceLevel: Sendable, Equatable {
        public var latencyP95Milliseconds: Int?
        /// Longest acceptable time from acceptance to delivery, in seconds (`max_delivery_delay: 15m`).
        public var maxDeliveryDelaySeconds: Int?
        /// Percent, e.g. 99.9.
        public var availability: Double?
        public var retry: RetryPolicy?
    }

    public struct DataUse: Sendable, Equatable {
        public var classes: [DataClass] = []
        /// The fields that may leave through this entry (data minimisation: nothing else should).
        public var fields: [String] = []
        /// Field names whose values are masked in the plugin's logs and errors.
        public var masked: [String] = []
    }

    public struct Events: Sendable, Equatable {
        public var consumes: [String] = []
        public var produces: [String] = []
    }

    /// A decision on the entry, newest last: who, when, what, why, and the hash of the folder as it was then.
    public struct Decision: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable { case submitted, approved, rejected, deprecated, retired }
        public var decision: Kind
        public var reviewer: String
        public var at: Date
        public var reason: String
        public var sha256: String
        /// The manifest's own hash then, without its status and approvals (egress, secrets and data use are approved too).
        public var manifestSHA256: String?
        /// Each file's sha256 at that time, by path inside the entry: what lets a reviewer see which files changed.
        public var files: [String: String]
    }

    public var name: String
    public var kind: Kind
    public var version: SemanticVersion
    public var owner: String
    public var team: String
    public var description: String
    /// The plugin folder (or, for a flow, the flow file), relative to the project root.
    public var entry: String
    public var sla: ServiceLevel?
    public var data: DataUse
    public var egress: EgressPolicy
    /// The egress list as written (origins), for people.
    public var egressOrigins: [String]
    public var secrets: [String]
    public var events: Events
    public var dependsOn: [PluginReference]
    /// The `config:` block (settings the plugin reads as `ctx.config`: a partner's URL, database, protocol) as JSON
    /// text; nil when absent. Part of what is approved, like egress: it decides where data goes.
    public var config: String?
    public var status: Status
    public var approvals: [Decision]
    /// sha256 of the manifest text without its status and approvals blocks.
    public var contentSHA256: String
    /// The manifest file, as shown in messages, and its lines by top-level field.
    public var file: String
    public var lines: [String: Int]

    public var id: String { "\(name)@\(version)" }

    /// The approval that production holds the folder to: the last `approved` decision, if the entry is still approved
    /// (or deprecated, which keeps running).
    public var standingApproval: Decision? {
        guard status == .approved || status == .deprecated else { return nil }
        return approvals.last { $0.decision == .approved }
    }

    /// Who submitted it for review last.
    public var submitter: String? { approvals.last { $0.decision == .submitted }?.reviewer }

    public func line(_ field: String) -> Int { lines[field] ?? 1 }
}
