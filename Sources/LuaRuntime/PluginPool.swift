import Logging

/// A few instances of one plugin (one state each) for parallelism; each call goes to the least busy instance.
public final class PluginPool: Sendable {
    public let plugin: Plugin
    public let instances: [PluginInstance]
    /// The catalog entry's `config:` block as a JSON object, handed to every hook as `ctx.config` (nil: none).
    public let config: [UInt8]?

    public static func load(_ plugin: Plugin, states: Int, limits: SandboxLimits, logger: Logger,
                            http: (any HTTPGateway)? = nil, phiFields: Set<String> = [],
                            config: [UInt8]? = nil, ledger: (any PluginLedger)? = nil) async throws(LuaError) -> PluginPool {
        precondition(states > 0, "a pool needs at least one state")
        var instances: [PluginInstance] = []
        for _ in 0..<states {
            instances.append(try await PluginInstance.load(plugin, limits: limits, logger: logger, http: http, phiFields: phiFields,
                                                             ledger: ledger))
        }
        return PluginPool(plugin: plugin, instances: instances, config: config)
    }

    private init(plugin: Plugin, instances: [PluginInstance], config: [UInt8]?) {
        self.plugin = plugin
        self.instances = instances
        self.config = config
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
        return try await best.invoke(hook, input: input, context: withConfig(context), correlationId: correlationId)
    }

    /// `context` (a JSON object) with `"config"` added, when the entry has one and the caller did not set it.
    func withConfig(_ context: [UInt8]) -> [UInt8] {
        guard let config, let close = context.lastIndex(of: UInt8(ascii: "}")) else { return context }
        let isEmpty = !context[..<close].contains { $0 != UInt8(ascii: "{") && $0 != 0x20 && $0 != 0x0A }
        return Array(context[..<close]) + Array((isEmpty ? "\"config\":" : ",\"config\":").utf8) + config + [UInt8(ascii: "}")]
    }

    /// Lua memory held by all states of the pool.
    public func memoryUsed() async -> Int {
        var total = 0
        for instance in instances { total += await instance.memoryUsed }
        return total
    }
}
