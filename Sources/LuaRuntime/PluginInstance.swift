import Executors
import Foundation
import Logging
import Synchronization

/// One loaded plugin in one sandboxed state, owned by an actor so exactly one invocation runs on the state at a time,
/// while many may be suspended in it waiting for host I/O.
public actor PluginInstance {
    public let plugin: Plugin
    public let limits: SandboxLimits
    private let logger: Logger
    private var state: LuaState
    private var loaded: LoadedPlugin
    /// States that broke a limit and are drained before they close.
    private var retired: [LuaState] = []
    public private(set) var recycleCount = 0

    private let http: (any HTTPGateway)?
    private let phiFields: Set<String>
    private let ledger: (any PluginLedger)?
    /// The thread the state runs on: one of the HTTP event loops when the host lends them (a request and its response
    /// then never leave the thread), else one of the shared job threads.
    private nonisolated let executor: any PluginExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public static func load(_ plugin: Plugin, limits: SandboxLimits, logger: Logger,
                            http: (any HTTPGateway)? = nil, phiFields: Set<String> = [],
                            ledger: (any PluginLedger)? = nil) async throws(LuaError) -> PluginInstance {
        let (state, loaded) = try await Self.makeState(plugin, limits: limits, logger: logger, http: http, phiFields: phiFields, ledger: ledger)
        return PluginInstance(plugin: plugin, limits: limits, logger: logger, http: http, phiFields: phiFields, ledger: ledger,
                              state: state, loaded: loaded)
    }

    private init(plugin: Plugin, limits: SandboxLimits, logger: Logger, http: (any HTTPGateway)?, phiFields: Set<String>,
                 ledger: (any PluginLedger)?, state: LuaState, loaded: LoadedPlugin) {
        self.ledger = ledger
        self.executor = http?.pluginExecutor() ?? SerialJobThread.next()
        self.plugin = plugin
        self.limits = limits
        self.logger = logger
        self.http = http
        self.phiFields = phiFields
        self.state = state
        self.loaded = loaded
    }

    private static func makeState(_ plugin: Plugin, limits: SandboxLimits, logger: Logger, http: (any HTTPGateway)?,
                                  phiFields: Set<String>, ledger: (any PluginLedger)?) async throws(LuaError) -> (LuaState, LoadedPlugin) {
        let context = HostContext(pluginName: plugin.name, pluginRoot: plugin.folder, logger: logger, http: http, phiFields: phiFields,
                                  ledger: ledger)
        let state = try LuaState(limits: limits, context: context)
        let loaded = try await state.loadPlugin(plugin)
        return (state, loaded)
    }

    public var kind: PluginKind { loaded.kind }
    /// The hooks the plugin defines (a subset of its kind's).
    public var hookNames: Set<String> { Set(loaded.hooks.keys) }
    public var inFlight: Int { state.invocationsInFlight }
    /// Invocations started and not finished, readable without a hop onto the actor (the pool picks the least busy
    /// instance for every call; awaiting each instance's `inFlight` cost two actor hops per invocation).
    public nonisolated var load: Int { pending.load(ordering: .relaxed) }
    private nonisolated let pending = Atomic<Int>(0)
    public var memoryUsed: Int { state.memoryUsed }

    /// Calls `hook` with the JSON input and a JSON context table; returns the hook's first result as JSON.
    ///
    /// The invocation prefers the state's executor as its task executor too: the continuations of its host calls
    /// then resume on the state's thread, where the state's actor is, instead of on the global executor first (a
    /// wake-up of another thread and a hop back, for every HTTP request a plugin makes).
    public nonisolated func invoke(_ hook: String, input: LuaArgument, context: [UInt8] = Array("{}".utf8),
                                   correlationId: String? = nil) async throws(LuaError) -> InvocationResult {
        try await withTaskExecutorPreference(executor) { () async throws(LuaError) -> InvocationResult in
            try await invokeOnState(hook, input: input, context: context, correlationId: correlationId)
        }
    }

    private func invokeOnState(_ hook: String, input: LuaArgument, context: [UInt8],
                               correlationId: String?) async throws(LuaError) -> InvocationResult {
        guard let function = loaded.hooks[hook] else {
            throw LuaError(kind: .runtime, message: "plugin has no hook '\(hook)' (a \(loaded.kind.rawValue) plugin defines \(loaded.kind.hooks.joined(separator: ", ")))",
                           plugin: plugin.name)
        }
        let current = state
        pending.add(1, ordering: .relaxed)
        defer {
            pending.subtract(1, ordering: .relaxed)
            // A task only when there is something to recycle or drain: one per invocation showed in the profile.
            if current.needsRecycle || !retired.isEmpty { Task { await self.recycleIfNeeded() } }
        }
        return try await current.run(function, arguments: [input, .json(context)], correlationId: correlationId)
    }

    /// Replaces a state that broke a limit once nothing runs on it; new invocations go to the fresh state at once.
    private func recycleIfNeeded() async {
        retired.removeAll { $0.invocationsInFlight == 0 ? ($0.close(), true).1 : false }
        guard state.needsRecycle else { return }
        do {
            let (fresh, freshLoaded) = try await Self.makeState(plugin, limits: limits, logger: logger, http: http, phiFields: phiFields,
                                                                ledger: ledger)
            guard state.needsRecycle else { fresh.close(); return } // another recycle won the race
            let old = state
            state = fresh
            loaded = freshLoaded
            recycleCount += 1
            if old.invocationsInFlight == 0 { old.close() } else { retired.append(old) }
            logger.info("recycled the Lua state after a limit breach", metadata: ["plugin": "\(plugin.name)"])
        } catch {
            logger.error("cannot recreate the Lua state", metadata: ["plugin": "\(plugin.name)", "error": "\(error)"])
        }
    }
}
