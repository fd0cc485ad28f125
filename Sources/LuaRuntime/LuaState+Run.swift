extension LuaState {
    /// Runs `function` to completion as one invocation, performing the host operations it waits for.
    ///
    /// Runs on the caller's executor (`nonisolated(nonsending)`), so an actor that owns the state keeps owning it across
    /// the awaits; other invocations of the same state may run while this one waits (that is the point).
    nonisolated(nonsending) public func run(
        _ function: LuaFunctionRef, arguments: [LuaArgument], resultMode: ResultMode = .json
    ) async throws(LuaError) -> InvocationResult {
        let invocation = try startInvocation(function, arguments: arguments)
        while true {
            switch resume(invocation, resultMode: resultMode) {
            case .finished(let result):
                return result
            case .failed(let error):
                throw error
            case .waiting(let operation):
                invocation.completion = await operation.perform()
                if Task.isCancelled && invocation.completion == nil {
                    abandon(invocation)
                    throw LuaError(kind: .runtime, message: "cancelled", plugin: context.pluginName)
                }
            }
        }
    }

    /// Runs `function` to completion without awaiting: an invocation that waits for host I/O fails. For the benchmark
    /// and for code paths that must not suspend.
    public func runSynchronously(
        _ function: LuaFunctionRef, arguments: [LuaArgument], resultMode: ResultMode = .json
    ) throws(LuaError) -> InvocationResult {
        let invocation = try startInvocation(function, arguments: arguments)
        switch resume(invocation, resultMode: resultMode) {
        case .finished(let result):
            return result
        case .failed(let error):
            throw error
        case .waiting(let operation):
            abandon(invocation)
            throw LuaError(kind: .runtime, message: "\(operation.name) waits for I/O, which this synchronous call cannot do",
                           plugin: context.pluginName)
        }
    }
}
