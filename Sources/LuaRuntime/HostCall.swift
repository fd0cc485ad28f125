import CLuaShim

/// The arguments of one host-function call, read without any Lua API that can raise.
///
/// Only valid during the synchronous call from Lua; never store it.
public struct HostCall: ~Copyable {
    let L: OpaquePointer
    /// The per-state context (plugin name and folder, logger, the current invocation).
    public let context: HostContext
    public let functionName: String

    public var count: Int { Int(lua_gettop(L)) }

    public func isNil(_ index: Int32) -> Bool { lua_type(L, index) <= LUA_TNIL }

    /// Lua truthiness of an argument (absent is false).
    public func boolean(_ index: Int32) -> Bool { lua_toboolean(L, index) != 0 }

    /// A string argument (numbers are accepted and formatted as Lua would), or an error message naming the argument.
    public func string(_ index: Int32) -> Result<[UInt8], HostArgumentError> {
        switch lua_type(L, index) {
        case LUA_TSTRING:
            var length = 0
            guard let pointer = lua_tolstring(L, index, &length) else { return .failure(mismatch(index, "string")) }
            return .success(Array(UnsafeRawBufferPointer(start: pointer, count: length)))
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .success(Array(String(lua_tointegerx(L, index, nil)).utf8)) }
            return .success(Array(String(lua_tonumberx(L, index, nil)).utf8))
        default:
            return .failure(mismatch(index, "string"))
        }
    }

    public func optionalString(_ index: Int32) -> Result<[UInt8]?, HostArgumentError> {
        if isNil(index) { return .success(nil) }
        return string(index).map { Optional($0) }
    }

    public func integer(_ index: Int32) -> Result<Int64, HostArgumentError> {
        var isNumber: Int32 = 0
        let value = lua_tointegerx(L, index, &isNumber)
        if isNumber != 0 { return .success(value) }
        if lua_type(L, index) == LUA_TNUMBER {
            return .failure(HostArgumentError(message: "bad argument #\(index) to '\(functionName)' (number has no integer representation)"))
        }
        return .failure(mismatch(index, "integer"))
    }

    public func number(_ index: Int32) -> Result<Double, HostArgumentError> {
        guard lua_type(L, index) == LUA_TNUMBER else { return .failure(mismatch(index, "number")) }
        return .success(lua_tonumberx(L, index, nil))
    }

    private func mismatch(_ index: Int32, _ expected: String) -> HostArgumentError {
        let got = lua_type(L, index) == LUA_TNONE ? "no value" : String(cString: lua_typename(L, lua_type(L, index)))
        return HostArgumentError(message: "bad argument #\(index) to '\(functionName)' (\(expected) expected, got \(got))")
    }
}

public struct HostArgumentError: Error {
    public let message: String
}
