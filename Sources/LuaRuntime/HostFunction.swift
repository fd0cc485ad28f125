import CLuaShim
import Foundation

/// A function the host offers to Lua, implemented in Swift.
///
/// It receives its arguments as a `HostCall` and returns a `HostOutcome`; it never touches the Lua stack itself, so no
/// Lua error can unwind through Swift (the C trampoline in clua_host.c pushes results and raises).
public struct HostFunction: Sendable {
    public let name: String
    public let body: @Sendable (borrowing HostCall) -> HostOutcome

    public init(_ name: String, _ body: @escaping @Sendable (borrowing HostCall) -> HostOutcome) {
        self.name = name
        self.body = body
    }
}

/// The host functions every state gets, in a fixed order (the index is the id the trampoline carries).
enum HostFunctionTable {
    static let all: [HostFunction] = HostModules.functions

    /// The names as C strings, kept alive for the process (clua_setup reads them while building each state).
    nonisolated(unsafe) static let cNames: [UnsafePointer<CChar>?] = all.map { UnsafePointer(strdup($0.name)) }

    /// Installs the C callbacks once per process.
    static let installCallbacks: Void = {
        clua_set_host_callbacks(hostCallback, resumeCallback)
    }()
}

private func fill(_ results: UnsafeMutablePointer<clua_results>, with outcome: HostOutcome) -> Int32 {
    switch outcome {
    case .values(let values):
        for value in values {
            let ok: Int32
            switch value {
            case .nil: ok = clua_results_add_nil(results)
            case .bool(let b): ok = clua_results_add_bool(results, b ? 1 : 0)
            case .integer(let i): ok = clua_results_add_int(results, i)
            case .number(let n): ok = clua_results_add_number(results, n)
            case .string(let bytes):
                ok = bytes.withUnsafeBufferPointer { clua_results_add_string(results, $0.baseAddress, $0.count) }
            case .json(let bytes):
                ok = bytes.withUnsafeBufferPointer { clua_results_add_json(results, $0.baseAddress, $0.count) }
            case .fields(let fields):
                ok = fields.bytes.withUnsafeBufferPointer {
                    clua_results_add_fields(results, $0.baseAddress, $0.count, Int64(fields.count))
                }
            }
            if ok == 0 {
                clua_results_set_error(results, "host function returned too many values", 0)
                return Int32(CLUA_HOST_ERROR)
            }
        }
        return Int32(CLUA_HOST_RETURN)
    case .error(let message):
        clua_results_set_error(results, message, 0)
        return Int32(CLUA_HOST_ERROR)
    case .fault(let kind, let message):
        clua_results_set_error(results, message, kind.faultCode)
        return Int32(CLUA_HOST_FAULT)
    case .wait:
        return Int32(CLUA_HOST_YIELD)
    }
}

private func context(of L: OpaquePointer) -> HostContext? {
    guard let sandbox = clua_sandbox_of(L), let host = sandbox.pointee.host else { return nil }
    return Unmanaged<HostContext>.fromOpaque(host).takeUnretainedValue()
}

private let hostCallback: clua_host_callback = { L, functionId, results in
    guard let L, let results, let context = context(of: L),
          HostFunctionTable.all.indices.contains(Int(functionId)) else {
        return Int32(CLUA_HOST_ERROR)
    }
    let function = HostFunctionTable.all[Int(functionId)]
    let call = HostCall(L: L, context: context, functionName: function.name)
    let outcome = function.body(call)
    if case .wait(let operation) = outcome {
        guard let invocation = context.current else {
            return fill(results, with: .error("\(function.name): waiting for I/O is only possible inside an invocation"))
        }
        invocation.pending = operation
        invocation.waitingThread = L
    }
    return fill(results, with: outcome)
}

private let resumeCallback: clua_resume_callback = { L, results in
    guard let L, let results, let context = context(of: L), let invocation = context.current,
          invocation.waitingThread == L, let completion = invocation.completion else {
        // Something other than the host resumed a coroutine that was waiting for the host.
        return fill(results!, with: .fault(.permission, "a coroutine waiting for the host was resumed by plugin code"))
    }
    invocation.completion = nil
    invocation.waitingThread = nil
    return fill(results, with: completion)
}

extension LuaError.Kind {
    var faultCode: Int32 {
        switch self {
        case .cpu: return Int32(CLUA_FAULT_CPU.rawValue)
        case .memory: return Int32(CLUA_FAULT_MEMORY.rawValue)
        case .stack: return Int32(CLUA_FAULT_STACK.rawValue)
        case .limit: return Int32(CLUA_FAULT_LIMIT.rawValue)
        case .permission: return Int32(CLUA_FAULT_PERMISSION.rawValue)
        default: return 0
        }
    }

    init?(faultCode: Int32) {
        switch UInt32(faultCode) {
        case CLUA_FAULT_CPU.rawValue: self = .cpu
        case CLUA_FAULT_MEMORY.rawValue: self = .memory
        case CLUA_FAULT_STACK.rawValue: self = .stack
        case CLUA_FAULT_LIMIT.rawValue: self = .limit
        case CLUA_FAULT_PERMISSION.rawValue: self = .permission
        default: return nil
        }
    }
}
