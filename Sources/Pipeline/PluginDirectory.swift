import Foundation
import Logging
import LuaRuntime
import Store

/// The loaded plugins a worker calls, one pool of states per plugin, loaded on first use.
public actor PluginDirectory {
    private let folder: URL
    private let limits: SandboxLimits
    private let statesPerPlugin: Int
    private let logger: Logger
    private let http: (any HTTPGateway)?
    private let phiFields: [String: Set<String>]
    private let audit: (any AuditLog)?
    private var pools: [String: PluginPool] = [:]

    /// `phiFields`: by plugin, the field names its catalog entry marks as PHI/PII (masked in its logs and errors).
    /// `audit`: where each load is recorded.
    public init(folder: URL, limits: SandboxLimits, statesPerPlugin: Int = 2, http: (any HTTPGateway)? = nil,
                phiFields: [String: Set<String>] = [:], audit: (any AuditLog)? = nil, logger: Logger) {
        self.audit = audit
        self.phiFields = phiFields
        self.folder = folder
        self.limits = limits
        self.statesPerPlugin = statesPerPlugin
        self.http = http
        self.logger = logger
    }

    /// Loads every named plugin that is not loaded yet; returns what failed, by plugin, with the reason (a load that
    /// failed is tried again on the next call and on first use).
    public func load(_ names: [String]) async -> [(plugin: String, error: String)] {
        var failures: [(plugin: String, error: String)] = []
        for name in Set(names).sorted() {
            do { _ = try await pool(name) } catch { failures.append((name, "\(error)")) }
        }
        return failures
    }

    public func pool(_ name: String) async throws -> PluginPool {
        if let pool = pools[name] { return pool }
        let plugin = try Plugin.locate(name, pluginsDirectory: folder)
        let pool = try await PluginPool.load(plugin, states: statesPerPlugin, limits: limits, logger: logger, http: http,
                                             phiFields: phiFields[name] ?? [])
        pools[name] = pool
        do {
            try await audit?.audit([AuditEntry(actor: "host", action: "plugin.loaded", subject: name,
                                               detail: AuditDetail.object(["states": .int(statesPerPlugin),
                                                                           "folder": .string(plugin.folder.path)]))], at: Date())
        } catch {
            logger.error("cannot audit a plugin load", metadata: ["plugin": "\(name)", "error": "\(error)"])
        }
        return pool
    }
}
