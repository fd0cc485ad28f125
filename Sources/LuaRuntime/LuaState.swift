// THE RULE OF THIS TARGET: a Lua error must never unwind (longjmp) through a Swift frame.
// Swift calls only Lua API functions that cannot raise (type checks, rawgeti of refs, lua_resume, lua_pcall, pushes of
// non-allocating values after lua_checkstack) and the protected helpers of clua.h for everything that allocates.
// Host functions written in Swift never touch the stack; the C trampoline does (see HostFunction.swift).

import CLuaShim
import Foundation
import Logging

/// One sandboxed `lua_State`: created with its limits and environment, closed exactly once.
///
/// Threading: not thread-safe and not Sendable. Its owner (a `PluginInstance` actor, or a single task in the CLI)
/// serialises every call; Lua itself has no thread affinity, so an actor hopping threads between calls is fine. A
/// `busy` flag turns accidental concurrent or re-entrant use into a precondition failure instead of memory corruption.
public final class LuaState {
    let L: OpaquePointer
    public let context: HostContext
    public let limits: SandboxLimits
    public let limitsEnabled: Bool
    private var closed = false
    private var busy = false
    /// Set when the watchdog abandoned the state (see `kill`).
    public private(set) var killed = false
    private var idleThreads: [(thread: OpaquePointer, ref: Int32)] = []
    private var invocationCounter = 0
    /// Set when a limit breach may have left plugin state half-updated; the owner replaces the state when idle.
    public private(set) var needsRecycle = false
    public private(set) var invocationsInFlight = 0
    /// Instructions (VM instructions plus charged C work) and running time of the last invocation that ended.
    public private(set) var lastInstructions: Int64 = 0
    public private(set) var lastCPUNanoseconds: Int64 = 0

    /// Creates the state, its allocator and hook with `limits`, and the sandboxed environment.
    /// `limitsEnabled: false` exists only for the benchmark baseline ("same host with limits off").
    public init(limits: SandboxLimits, limitsEnabled: Bool = true, context: HostContext) throws(LuaError) {
        _ = HostFunctionTable.installCallbacks
        var cLimits = limits.cValue
        guard let L = clua_newstate(&cLimits, limitsEnabled ? 1 : 0) else {
            throw LuaError(kind: .memory, message: "cannot create a Lua state", plugin: context.pluginName)
        }
        self.L = L
        self.context = context
        self.limits = limits
        self.limitsEnabled = limitsEnabled
        clua_sandbox_of(L).pointee.host = Unmanaged.passUnretained(context).toOpaque()
        // Setup runs the prelude under the same budget as an invocation would.
        clua_slice_begin(L, 0, 0, 0)
        let status = LuaPrelude.source.withCString { prelude in
            HostFunctionTable.cNames.withUnsafeBufferPointer { names in
                clua_setup(L, prelude, strlen(prelude), names.baseAddress, Int32(names.count))
            }
        }
        if status != LUA_OK {
            let message = Self.describeTop(L) ?? "unknown error"
            clua_close(L)
            throw LuaError(kind: .runtime, message: "sandbox setup failed: \(message)", plugin: context.pluginName)
        }
        clua_sandbox_of(L).pointee.slice_start_ns = 0
    }

    deinit { close() }

    /// Closes the state: registry refs go with it, then `lua_close` (no finalizers of plugin code exist: `__gc` is
    /// refused), then the allocator accounting is freed. Safe to call twice.
    public func close() {
        guard !closed else { return }
        precondition(!busy, "LuaState closed while in use")
        closed = true
        idleThreads.removeAll()
        if killed { return } // abandoned on purpose: closing would walk half-updated structures
        clua_close(L)
    }

    public var isClosed: Bool { closed }

    /// Bytes the state's allocator holds now, and the most it has held.
    public var memoryUsed: Int { closed ? 0 : clua_sandbox_of(L).pointee.mem_used }
    public var memoryPeak: Int { closed ? 0 : clua_sandbox_of(L).pointee.mem_peak }

    // MARK: - Loading

    /// Compiles source text (never a binary chunk) into a function, referenced in the registry.
    public func compile(source: [UInt8], chunkName: String) throws(LuaError) -> LuaFunctionRef {
        try enter()
        defer { leave() }
        guard lua_checkstack(L, 4) != 0 else { throw LuaError(kind: .memory, message: "Lua stack exhausted", plugin: context.pluginName) }
        let chain = source.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { clua_max_index_chain($0.baseAddress, $0.count) }
        }
        if chain > CLUA_INDEX_CHAIN_LIMIT {
            throw LuaError(kind: .limit, message: "an expression indexes \(chain) levels deep in one chain (at most \(CLUA_INDEX_CHAIN_LIMIT): longer chains reach a Lua 5.4.4 defect)",
                           plugin: context.pluginName, location: chunkName)
        }
        let status = source.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                clua_load_text(L, chars.baseAddress, chars.count, "@" + chunkName)
            }
        }
        if status != LUA_OK {
            let message = Self.describeTop(L) ?? "cannot load chunk"
            clua_pop(L, 1)
            let split = LuaError.splitLocation(message)
            // Whatever stops the parser (a syntax error, "chunk has too many syntax levels", "C stack overflow" on
            // deep nesting) means the source does not compile.
            let kind: LuaError.Kind = status == LUA_ERRMEM ? .memory : .syntax
            throw LuaError(kind: kind, message: split.message, plugin: context.pluginName, location: split.location)
        }
        let ref = clua_ref_top(L)
        guard ref != LUA_NOREF else { throw LuaError(kind: .memory, message: "cannot keep the compiled chunk", plugin: context.pluginName) }
        return LuaFunctionRef(ref: ref)
    }

    /// Resolves the named fields of the table behind `table` to function refs (raw access: no metamethods run).
    /// Returns, per name, the ref, or nil when the field is absent; a field that exists but is not a function is an
    /// error naming it.
    public func functionFields(of table: LuaValueRef, names: [String]) throws(LuaError) -> [String: LuaFunctionRef] {
        try enter()
        defer { leave() }
        guard lua_checkstack(L, 4) != 0 else { throw LuaError(kind: .memory, message: "Lua stack exhausted", plugin: context.pluginName) }
        guard lua_rawgeti(L, clua_registryindex(), lua_Integer(table.ref)) == LUA_TTABLE else {
            clua_pop(L, 1)
            throw LuaError(kind: .runtime, message: "expected a table", plugin: context.pluginName)
        }
        defer { clua_pop(L, 1) }
        var refs: [String: LuaFunctionRef] = [:]
        for name in names {
            let ref = clua_ref_function_field(L, -1, name)
            if ref == -3 {
                throw LuaError(kind: .runtime, message: "field '\(name)' must be a function", plugin: context.pluginName)
            }
            if ref == LUA_NOREF { throw LuaError(kind: .memory, message: "out of memory", plugin: context.pluginName) }
            if ref != LUA_REFNIL { refs[name] = LuaFunctionRef(ref: ref) }
        }
        return refs
    }

    /// The keys of the table behind `table` whose values are functions, and the string value of `field` if present.
    public func describeTable(_ table: LuaValueRef) throws(LuaError) -> (functionKeys: [String], strings: [String: String]) {
        try enter()
        defer { leave() }
        guard lua_checkstack(L, 6) != 0 else { throw LuaError(kind: .memory, message: "Lua stack exhausted", plugin: context.pluginName) }
        guard lua_rawgeti(L, clua_registryindex(), lua_Integer(table.ref)) == LUA_TTABLE else {
            clua_pop(L, 1)
            throw LuaError(kind: .runtime, message: "expected a table", plugin: context.pluginName)
        }
        var functionKeys: [String] = []
        var strings: [String: String] = [:]
        lua_pushnil(L)
        // lua_next on a table with string keys does not allocate or raise for keys that are still in the table.
        while lua_next(L, -2) != 0 {
            if lua_type(L, -2) == LUA_TSTRING {
                var length = 0
                let keyPointer = lua_tolstring(L, -2, &length)!
                let key = String(decoding: UnsafeRawBufferPointer(start: keyPointer, count: length), as: UTF8.self)
                switch lua_type(L, -1) {
                case LUA_TFUNCTION: functionKeys.append(key)
                case LUA_TSTRING:
                    var valueLength = 0
                    let valuePointer = lua_tolstring(L, -1, &valueLength)!
                    strings[key] = String(decoding: UnsafeRawBufferPointer(start: valuePointer, count: valueLength), as: UTF8.self)
                default: break
                }
            }
            clua_pop(L, 1)
        }
        clua_pop(L, 1)
        return (functionKeys.sorted(), strings)
    }

    public func release(_ ref: LuaValueRef) {
        guard !closed, !killed else { return }
        clua_unref(L, ref.ref)
    }

    // MARK: - Invocations

    /// What the invocation's first result becomes when it finishes.
    public enum ResultMode: Sendable { case json, keep }

    /// Prepares an invocation of `function` with `arguments` in a coroutine of its own.
    func startInvocation(_ function: LuaFunctionRef, arguments: [LuaArgument]) throws(LuaError) -> Invocation {
        try enter()
        defer { leave() }
        let (thread, ref) = try takeThread()
        invocationCounter += 1
        let invocation = Invocation(pluginName: context.pluginName, number: invocationCounter, thread: thread, ref: ref)
        if limitsEnabled && limits.wallMilliseconds > 0 {
            invocation.wallDeadline = clua_now_ns() + UInt64(limits.wallMilliseconds) * 1_000_000
        }
        guard lua_checkstack(thread, Int32(arguments.count) + 4) != 0 else {
            clua_unref(L, ref)
            throw LuaError(kind: .memory, message: "Lua stack exhausted", plugin: context.pluginName)
        }
        lua_rawgeti(thread, clua_registryindex(), lua_Integer(function.ref))
        // Decoding the input runs C code (the JSON codec) under the sandbox's size and depth limits; its work is charged
        // to the invocation's instructions (untimed: it is bounded by json_bytes, and timing costs a system call).
        clua_clear_fault(L)
        beginUntimed(instructions: 0)
        for argument in arguments {
            let status: Int32
            switch argument {
            case .json(let bytes):
                status = bytes.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { clua_json_decode_bytes(thread, $0.baseAddress, $0.count) }
                }
            case .string(let bytes):
                status = bytes.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) {
                        clua_pushlstring_protected(thread, $0.baseAddress, $0.count) != 0 ? LUA_OK : LUA_ERRMEM
                    }
                }
            case .value(let value):
                lua_rawgeti(thread, clua_registryindex(), lua_Integer(value.ref))
                status = LUA_OK
            }
            if status != LUA_OK {
                let message = status == LUA_ERRMEM ? "not enough memory for the input" : (Self.describeTop(thread) ?? "bad input")
                let fault = clua_sandbox_of(L).pointee.fault
                lua_settop(thread, 0)
                clua_clear_fault(L)
                recycleThreadIfClean(thread, ref)
                let kind = LuaError.Kind(faultCode: fault) ?? (status == LUA_ERRMEM ? .memory : .runtime)
                throw LuaError(kind: kind, message: "input: \(LuaError.splitLocation(message).message)", plugin: context.pluginName)
            }
        }
        invocation.instructions = clua_sandbox_of(L).pointee.instr_used
        invocation.pendingArguments = Int32(arguments.count)
        invocationsInFlight += 1
        return invocation
    }

    /// Runs the invocation until it finishes, fails, or waits for a host operation.
    func resume(_ invocation: Invocation, resultMode: ResultMode = .json) -> InvocationStep {
        do { try enter() } catch {
            invocationsInFlight -= 1
            return .failed(error)
        }
        defer { leave() }
        let thread = invocation.thread
        let nargs: Int32
        if invocation.started {
            nargs = 0
        } else {
            invocation.started = true
            nargs = invocation.pendingArguments
        }
        context.current = invocation
        defer { context.current = nil }
        clua_arm_hook(thread)
        clua_slice_begin(L, invocation.instructions, invocation.cpuNanoseconds, invocation.wallDeadline)
        var resultCount: Int32 = 0
        let status = clua_resume_watched(thread, L, nargs, &resultCount, stuckAfterNanoseconds,
                                         clua_sandbox_of(L).pointee.slice_start_ns)
        if status == CLUA_STATUS_KILLED {
            return .failed(kill(invocation))
        }
        clua_slice_end(L, &invocation.instructions, &invocation.cpuNanoseconds)

        // A fault ends the invocation however the coroutine came back: raised, yielded by the hook, or even returned
        // (plugin code swallowed the error and finished before the hook fired again).
        if clua_sandbox_of(L).pointee.fault != CLUA_FAULT_NONE.rawValue {
            return .failed(finishWithError(invocation, error(status: status, thread: thread)))
        }
        if status == LUA_YIELD {
            if let operation = invocation.pending, resultCount == 1,
               lua_touserdata(thread, -1) == clua_host_yield_token() {
                invocation.pending = nil
                lua_settop(thread, 0)
                return .waiting(operation)
            }
            lua_settop(thread, 0)
            return .failed(finishWithError(invocation, LuaError(
                kind: .runtime, message: "coroutine.yield outside of a coroutine (the hook itself may not yield)",
                plugin: context.pluginName)))
        }
        if status != LUA_OK {
            return .failed(finishWithError(invocation, error(status: status, thread: thread)))
        }
        // Finished: encode or keep the first result while the sandbox still bounds the work.
        var result: InvocationResult = .nothing
        if resultCount > 0 {
            let first = lua_gettop(thread) - resultCount + 1
            lua_settop(thread, first) // only the first result counts
            if first > 1 {
                clua_replace(thread, 1)
                lua_settop(thread, 1)
            }
            switch resultMode {
            case .keep:
                let ref = clua_ref_top(thread)
                if ref == LUA_NOREF {
                    return .failed(finishWithError(invocation, LuaError(kind: .memory, message: "cannot keep the result", plugin: context.pluginName)))
                }
                result = .value(LuaValueRef(ref: ref))
            case .json:
                if lua_type(thread, 1) == LUA_TNIL {
                    result = .nothing
                } else {
                    beginUntimed(instructions: invocation.instructions)
                    let encodeStatus = clua_json_encode_top(thread)
                    invocation.instructions = clua_sandbox_of(L).pointee.instr_used
                    if encodeStatus != LUA_OK {
                        let fault = LuaError.Kind(faultCode: clua_sandbox_of(L).pointee.fault)
                        let message = Self.describeTop(thread) ?? "cannot encode the result"
                        lua_settop(thread, 0)
                        return .failed(finishWithError(invocation, LuaError(
                            kind: fault ?? .runtime, message: "result: \(LuaError.splitLocation(message).message)",
                            plugin: context.pluginName)))
                    }
                    var length = 0
                    let pointer = lua_tolstring(thread, -1, &length)!
                    result = .json(Array(UnsafeRawBufferPointer(start: pointer, count: length)))
                }
            }
        }
        lua_settop(thread, 0)
        finish(invocation, clean: true)
        return .finished(result)
    }

    /// Ends an invocation that will not be resumed (its wall-clock deadline passed while it waited, or its task was
    /// cancelled): its coroutine's to-be-closed variables are closed and the coroutine forgotten.
    func abandon(_ invocation: Invocation, with error: LuaError) -> LuaError {
        do { try enter() } catch {
            invocationsInFlight -= 1
            return error
        }
        defer { leave() }
        context.current = invocation
        defer { context.current = nil }
        clua_slice_begin(L, invocation.instructions, invocation.cpuNanoseconds, invocation.wallDeadline)
        return finishWithError(invocation, error)
    }

    // MARK: - Internals

    /// Starts accounting C work (the JSON codec on input and output) without reading clocks.
    private func beginUntimed(instructions: Int64) {
        let sandbox = clua_sandbox_of(L)!
        sandbox.pointee.instr_used = instructions
        sandbox.pointee.slice_start_ns = 0
    }

    /// How much CPU time one slice may use before the watchdog stops it: well past the point where the hook would
    /// have stopped any Lua code, so only a C operation the hook cannot interrupt gets there. Zero (unwatched) when
    /// limits are off.
    private var stuckAfterNanoseconds: Int64 {
        guard limitsEnabled else { return 0 }
        let budget = limits.cpuMilliseconds > 0 ? limits.cpuMilliseconds : 10_000
        return (budget + 750) * 1_000_000
    }

    /// The watchdog stopped a slice inside Lua's C code: the state's structures may be half-updated, so no Lua call
    /// may touch it again. It is left allocated (at most its memory cap) rather than closed.
    private func kill(_ invocation: Invocation) -> LuaError {
        killed = true
        needsRecycle = true
        invocationsInFlight -= 1
        let message = "stopped by the watchdog: one operation ran past the running-time budget of \(limits.cpuMilliseconds) ms without reaching a budget check (a C operation the hook cannot interrupt, such as a table rehash under colliding keys); the state was abandoned"
        context.logger.error("\(message)", metadata: ["plugin": "\(context.pluginName)", "invocation": "\(invocation.id)"])
        return LuaError(kind: .cpu, message: message, plugin: context.pluginName)
    }

    private func enter() throws(LuaError) {
        guard !closed else { throw LuaError(kind: .runtime, message: "the Lua state is closed", plugin: context.pluginName) }
        guard !killed else {
            throw LuaError(kind: .cpu, message: "the Lua state was abandoned after the watchdog stopped it", plugin: context.pluginName)
        }
        precondition(!busy, "LuaState used concurrently or re-entrantly; its owner must serialise calls")
        busy = true
    }

    private func leave() { busy = false }

    private func takeThread() throws(LuaError) -> (OpaquePointer, Int32) {
        if let idle = idleThreads.popLast() { return idle }
        var ref: Int32 = 0
        guard let thread = clua_invocation_thread_new(L, &ref) else {
            throw LuaError(kind: .memory, message: "cannot create a coroutine for the invocation", plugin: context.pluginName)
        }
        return (thread, ref)
    }

    private func recycleThreadIfClean(_ thread: OpaquePointer, _ ref: Int32) {
        if idleThreads.count < 32 && lua_status(thread) == LUA_OK && lua_gettop(thread) == 0 {
            idleThreads.append((thread, ref))
        } else {
            clua_unref(L, ref)
        }
    }

    private func finish(_ invocation: Invocation, clean: Bool) {
        invocationsInFlight -= 1
        lastInstructions = invocation.instructions
        lastCPUNanoseconds = invocation.cpuNanoseconds
        if clean {
            recycleThreadIfClean(invocation.thread, invocation.ref)
        } else {
            clua_unref(L, invocation.ref)
        }
    }

    private func finishWithError(_ invocation: Invocation, _ error: LuaError) -> LuaError {
        // The coroutine is dropped without closing its pending to-be-closed variables: after a fault raised inside the
        // hook Lua leaves it with hooks switched off, and no Lua code may run outside a watched, budgeted resume.
        // Plugins hold no resources that need closing (the same rule as the sandbox's coroutine.close).
        clua_clear_fault(L)
        clua_arm_hook(L)
        if error.kind.mayCorruptState { needsRecycle = true }
        finish(invocation, clean: false)
        return error
    }

    private func error(status: Int32, thread: OpaquePointer) -> LuaError {
        let sandbox = clua_sandbox_of(L)!
        let faultKind = LuaError.Kind(faultCode: sandbox.pointee.fault)
        // The error object sits on the dead coroutine; move it to the main thread before anything runs on it.
        var message: String
        var retryable: Bool?
        var retryAfter: Int?
        var deferred = false
        if let faultKind {
            _ = faultKind
            message = withUnsafeBytes(of: &sandbox.pointee.fault_message) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
        } else if status != LUA_YIELD, lua_gettop(thread) > 0, lua_checkstack(L, 2) != 0 {
            lua_xmove(thread, L, 1)
            message = Self.describeTop(L) ?? "(error object is not a string)"
            let flag = clua_error_retryable(L, -1)
            retryable = flag < 0 ? nil : flag == 1
            let after = clua_error_retry_after_ms(L, -1)
            retryAfter = after < 0 ? nil : Int(after)
            deferred = clua_error_flag(L, -1, "deferred") == 1
            clua_pop(L, 1)
        } else {
            message = "(error object could not be read)"
        }
        var traceback: String?
        if let text = clua_traceback(L, thread, nil) {
            traceback = String(cString: text)
            clua_free(text)
        }
        let kind: LuaError.Kind
        if let faultKind {
            kind = faultKind
        } else if status == LUA_ERRMEM {
            kind = .memory
        } else if message.contains("stack overflow") {
            kind = .stack
        } else if status == LUA_ERRSYNTAX {
            kind = .syntax
        } else {
            kind = .runtime
        }
        let split = LuaError.splitLocation(message)
        return LuaError(kind: kind, message: LuaError.withHint(split.message), plugin: context.pluginName,
                        location: split.location ?? Self.firstLocation(in: traceback), traceback: traceback,
                        retryable: retryable, retryAfterMilliseconds: retryAfter, deferred: deferred)
    }

    /// The first `file:line` of a traceback that is not host code.
    private static func firstLocation(in traceback: String?) -> String? {
        guard let traceback else { return nil }
        for line in traceback.split(separator: "\n").dropFirst() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("[C]"), !trimmed.hasPrefix("conflux/"), !trimmed.hasPrefix("(") else { continue }
            if let match = trimmed.firstMatch(of: /^([^:]+:\d+):/) { return String(match.1) }
        }
        return nil
    }

    /// A string copy of the value at the top of `thread`, read without metamethods (see clua_describe_value).
    static func describeTop(_ thread: OpaquePointer) -> String? {
        if lua_type(thread, -1) == LUA_TSTRING {
            var length = 0
            let pointer = lua_tolstring(thread, -1, &length)!
            return String(decoding: UnsafeRawBufferPointer(start: pointer, count: min(length, 8192)), as: UTF8.self)
        }
        guard let text = clua_describe_value(thread, -1, 8192) else { return nil }
        defer { clua_free(text) }
        return String(cString: text)
    }
}

/// A function kept alive in a state's registry.
public struct LuaFunctionRef: Sendable, Hashable { let ref: Int32 }
/// Any value kept alive in a state's registry.
public struct LuaValueRef: Sendable, Hashable { let ref: Int32 }

/// An argument of an invocation.
public enum LuaArgument: Sendable {
    /// JSON text, decoded into Lua values in the invocation's coroutine.
    case json([UInt8])
    /// Bytes passed as a Lua string (an HL7 message, an X12 interchange).
    case string([UInt8])
    /// A value already in the state.
    case value(LuaValueRef)
}

/// The first result of a finished invocation.
public enum InvocationResult: Sendable {
    case nothing
    case json([UInt8])
    case value(LuaValueRef)
}
