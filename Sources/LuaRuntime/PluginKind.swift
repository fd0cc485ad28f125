/// The kinds of plugin and the hooks each must (and may) define, as in ARCHITECTURE.md.
public enum PluginKind: String, Sendable, CaseIterable {
    case source, mapping, connector

    public var requiredHooks: [String] {
        switch self {
        case .source: return ["decode"]
        case .mapping: return ["map"]
        case .connector: return ["deliver"]
        }
    }

    public var optionalHooks: [String] {
        switch self {
        case .mapping: return ["poll"]
        case .source: return ["poll"]
        case .connector: return ["poll", "reconcile"]
        }
    }

    public var hooks: [String] { requiredHooks + optionalHooks }
}
