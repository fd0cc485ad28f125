import Foundation
import Logging
import LuaRuntime

/// The loaded plugins a worker calls, one pool of states per plugin, loaded on first use.
public actor PluginDirectory {
    private let folder: URL
    private let limits: SandboxLimits
    private let statesPerPlugin: Int
    private let logger: Logger
    private var pools: [String: PluginPool] = [:]

    public init(folder: URL, limits: SandboxLimits, statesPerPlugin: Int = 2, logger: Logger) {
        self.folder = folder
        self.limits = limits
        self.statesPerPlugin = statesPerPlugin
        self.logger = logger
    }

    public func pool(_ name: String) async throws -> PluginPool {
        if let pool = pools[name] { return pool }
        let plugin = try Plugin.locate(name, pluginsDirectory: folder)
        let pool = try await PluginPool.load(plugin, states: statesPerPlugin, limits: limits, logger: logger)
        pools[name] = pool
        return pool
    }
}
