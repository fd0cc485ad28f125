import CLuaShim
import Foundation

extension LuaState {
    /// Runs `function` to completion as one invocation, performing the host operations it waits for.
    ///
    /// Runs on the caller's executor (`nonisolated(nonsending)`), so an actor that owns the state keeps owning it across
    /// the awaits; other invocations of the same state may run while this one waits (that is the point). The
    /// invocation's wall-clock deadline (`wall_ms`) bounds its waits; its instruction and running-time budgets carry
    /// across them.
    nonisolated(nonsending) public func run(
        _ function: LuaFunctionRef, arguments: [LuaArgument], resultMode: ResultMode = .json, correlationId: String? = nil
    ) async throws(LuaError) -> InvocationResult {
        let invocation = try startInvocation(function, arguments: arguments)
        invocation.correlationId = correlationId
        if !context.phiFields.isEmpty, case .json(let input)? = arguments.first {
            invocation.redaction = PHIRedaction(fields: context.phiFields).collecting(from: input)
        }
        while true {
            switch resume(invocation, resultMode: resultMode) {
            case .finished(let result):
                return result
            case .failed(let error):
                throw invocation.redaction.map(error.redacted) ?? error
            case .waiting(let operation):
                guard invocation.wallDeadline != 0 else {
                    invocation.completion = await operation.perform()
                    continue
                }
                let now = clua_now_ns()
                let deadline = invocation.wallDeadline
                var outcome: HostOutcome?
                if now < deadline {
                    if operation.boundsItself {
                        let result = await operation.perform(within: .nanoseconds(Int64(deadline - now)))
                        outcome = clua_now_ns() < deadline ? result : nil
                    } else {
                        outcome = await Self.race(operation, within: deadline - now)
                    }
                }
                guard let outcome else {
                    throw abandon(invocation, with: LuaError(
                        kind: .cpu, message: "wall-clock deadline of \(limits.wallMilliseconds) ms exceeded while waiting for \(operation.name)",
                        plugin: context.pluginName))
                }
                invocation.completion = outcome
            }
        }
    }

    /// The operation's outcome, or nil when `nanoseconds` pass first (the operation is then cancelled).
    private static func race(_ operation: HostOperation, within nanoseconds: UInt64) async -> HostOutcome? {
        await withTaskGroup(of: HostOutcome?.self) { group in
            group.addTask { await operation.perform() }
            group.addTask {
                try? await Task.sleep(nanoseconds: nanoseconds)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
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
            throw abandon(invocation, with: LuaError(
                kind: .runtime, message: "\(operation.name) waits for I/O, which this synchronous call cannot do",
                plugin: context.pluginName))
        }
    }
}
