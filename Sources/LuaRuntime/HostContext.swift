import Foundation
import Logging

/// What host functions need to know about the state that called them.
///
/// Threading: owned by one `LuaState` and touched only synchronously from inside that state's `lua_resume` /
/// `lua_pcall`, which the state's owner serialises (see `LuaState`). Host functions reach it through the sandbox's
/// `host` pointer.
public final class HostContext {
    public let pluginName: String
    /// The plugin folder `require` and test fixtures read from; nil for a lone chunk (`sandbox check`).
    public let pluginRoot: URL?
    public let logger: Logger
    /// Where `http.request` goes; nil: the plugin has no network (tests, `sandbox check`).
    public let http: (any HTTPGateway)?
    /// Field names the plugin's catalog entry marks as PHI/PII: masked in its log lines and errors.
    public let phiFields: Set<String>
    /// Where `ledger.*` reads and writes; nil: no ledger (plugin tests, `sandbox check`).
    public let ledger: (any PluginLedger)?
    /// The ledger is the plugin's, not one version's: `name@version` without the version.
    var ledgerName: String { pluginName.split(separator: "@", maxSplits: 1).first.map(String.init) ?? pluginName }
    /// The invocation currently running on the state.
    var current: Invocation?

    public init(pluginName: String, pluginRoot: URL?, logger: Logger, http: (any HTTPGateway)? = nil, phiFields: Set<String> = [],
                ledger: (any PluginLedger)? = nil) {
        self.ledger = ledger
        self.pluginName = pluginName
        self.pluginRoot = pluginRoot
        self.logger = logger
        self.http = http
        self.phiFields = phiFields
    }

    /// The masking in force now: the running invocation's (values from its input) or the field names alone.
    var redaction: PHIRedaction? {
        if let redaction = current?.redaction { return redaction }
        return phiFields.isEmpty ? nil : PHIRedaction(fields: phiFields)
    }
}
