import Logging

/// A few instances of one plugin (one state each) for parallelism; each call goes to the least busy instance.
public final class PluginPool: Sendable {
    public let plugin: Plugin
    public let instances: [PluginInstance]
    /// The catalog entry's `config:` block as a JSON object, handed to every hook as `ctx.config` (nil: none).
    public let config: [UInt8]?
    /// The server's environment (`dev`, `staging`, `production`), handed to every hook as `ctx.env` (nil: none, as in
    /// plugin tests and benchmarks).
    public let environment: String?

    public static func load(_ plugin: Plugin, states: Int, limits: SandboxLimits, logger: Logger,
                            http: (any HTTPGateway)? = nil, phiFields: Set<String> = [],
                            config: [UInt8]? = nil, environment: String? = nil,
                            ledger: (any PluginLedger)? = nil) async throws(LuaError) -> PluginPool {
        precondition(states > 0, "a pool needs at least one state")
        var instances: [PluginInstance] = []
        for _ in 0..<states {
            instances.append(try await PluginInstance.load(plugin, limits: limits, logger: logger, http: http, phiFields: phiFields,
                                                             ledger: ledger))
        }
        return PluginPool(plugin: plugin, instances: instances, config: config, environment: environment)
    }

    private init(plugin: Plugin, instances: [PluginInstance], config: [UInt8]?, environment: String?) {
        self.plugin = plugin
        self.instances = instances
        self.config = config
        self.environment = environment
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
        return try await best.invoke(hook, input: input, context: withHostFields(context), correlationId: correlationId)
    }

    /// `context` (a JSON object) with `"config"` and `"env"` added, when the pool has them.
    func withHostFields(_ context: [UInt8]) -> [UInt8] {
        var added: [UInt8] = []
        if let config { added += Array("\"config\":".utf8) + config }
        if let environment {
            // A RuntimeEnvironment's raw value (a plain word), so no JSON escaping is needed; checked anyway.
            precondition(environment.utf8.allSatisfy { $0 > 0x20 && $0 != 0x22 && $0 != 0x5C && $0 < 0x7F })
            added += Array(((added.isEmpty ? "" : ",") + "\"env\":\"\(environment)\"").utf8)
        }
        guard !added.isEmpty, let close = context.lastIndex(of: UInt8(ascii: "}")) else { return context }
        let isEmpty = !context[..<close].contains { $0 != UInt8(ascii: "{") && $0 != 0x20 && $0 != 0x0A }
        return Array(context[..<close]) + (isEmpty ? [] : [UInt8(ascii: ",")]) + added + [UInt8(ascii: "}")]
    }

    /// Lua memory held by all states of the pool.
    public func memoryUsed() async -> Int {
        var total = 0
        for instance in instances { total += await instance.memoryUsed }
        return total
    }
}
