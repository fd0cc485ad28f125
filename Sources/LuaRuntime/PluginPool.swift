import Logging

/// A few instances of one plugin (one state each) for parallelism; each call goes to the least busy instance.
public final class PluginPool: Sendable {
    public let plugin: Plugin
    public let instances: [PluginInstance]

    public static func load(_ plugin: Plugin, states: Int, limits: SandboxLimits, logger: Logger,
                            http: (any HTTPGateway)? = nil, phiFields: Set<String> = []) async throws(LuaError) -> PluginPool {
        precondition(states > 0, "a pool needs at least one state")
        var instances: [PluginInstance] = []
        for _ in 0..<states {
            instances.append(try await PluginInstance.load(plugin, limits: limits, logger: logger, http: http, phiFields: phiFields))
        }
        return PluginPool(plugin: plugin, instances: instances)
    }

    private init(plugin: Plugin, instances: [PluginInstance]) {
        self.plugin = plugin
        self.instances = instances
    }

    public func invoke(_ hook: String, input: LuaArgument, context: [UInt8] = Array("{}".utf8),
                       correlationId: String? = nil) async throws(LuaError) -> InvocationResult {
        var best = instances[0]
        var bestLoad = Int.max
        for instance in instances {
            let load = instance.load
            if load < bestLoad { best = instance; bestLoad = load }
            if load == 0 { break }
        }
        return try await best.invoke(hook, input: input, context: context, correlationId: correlationId)
    }

    /// Lua memory held by all states of the pool.
    public func memoryUsed() async -> Int {
        var total = 0
        for instance in instances { total += await instance.memoryUsed }
        return total
    }
}
