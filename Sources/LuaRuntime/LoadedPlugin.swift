import Foundation

/// A plugin's entry file run in a state: its kind and its hooks, checked against the kind.
public struct LoadedPlugin: Sendable {
    public let plugin: Plugin
    public let kind: PluginKind
    /// The hooks of the kind that the plugin defines, plus its `_`-prefixed helpers.
    public let hooks: [String: LuaFunctionRef]
    /// The table the entry file returned (tests reach it through `require("plugin")`).
    public let table: LuaValueRef
}

extension LuaState {
    /// Runs the plugin's entry file and checks its hooks. Errors name the plugin, the file and the hook.
    nonisolated(nonsending) public func loadPlugin(_ plugin: Plugin) async throws(LuaError) -> LoadedPlugin {
        let source: [UInt8]
        do {
            source = Array(try Data(contentsOf: plugin.entryFile))
        } catch {
            throw LuaError(kind: .runtime, message: "cannot read \(PluginPaths.display(plugin.entryFile)): \(error.localizedDescription)",
                           plugin: plugin.name)
        }
        let chunk = try compile(source: source, chunkName: PluginPaths.display(plugin.entryFile))
        let result = try await run(chunk, arguments: [], resultMode: .keep)
        release(LuaValueRef(ref: chunk.ref))
        let location = PluginPaths.display(plugin.entryFile)
        guard case .value(let table) = result else {
            throw LuaError(kind: .runtime, message: "the entry file must return a table of hooks (it returned nothing)",
                           plugin: plugin.name, location: location)
        }
        let shape: (functionKeys: [String], strings: [String: String])
        do {
            shape = try describeTable(table)
        } catch {
            throw LuaError(kind: .runtime, message: "the entry file must return a table of hooks", plugin: plugin.name, location: location)
        }
        guard let kindName = shape.strings["kind"] else {
            throw LuaError(kind: .runtime, message: "the returned table has no 'kind' (expected one of \(PluginKind.allCases.map(\.rawValue).joined(separator: ", ")))",
                           plugin: plugin.name, location: location)
        }
        guard let kind = PluginKind(rawValue: kindName) else {
            throw LuaError(kind: .runtime, message: "unknown kind '\(kindName)' (expected one of \(PluginKind.allCases.map(\.rawValue).joined(separator: ", ")))",
                           plugin: plugin.name, location: location)
        }
        let helpers = shape.functionKeys.filter { $0.hasPrefix("_") }
        let strays = shape.functionKeys.filter { !$0.hasPrefix("_") && !kind.hooks.contains($0) }
        if let stray = strays.first {
            var message = "'\(stray)' is not a hook of a \(kind.rawValue) plugin (hooks: \(kind.hooks.joined(separator: ", ")))"
            if let suggestion = kind.hooks.min(by: { editDistance($0, stray) < editDistance($1, stray) }),
               editDistance(suggestion, stray) <= 3 {
                message += "; did you mean '\(suggestion)'?"
            }
            message += " Name private helpers with a leading '_'."
            throw LuaError(kind: .runtime, message: message, plugin: plugin.name, location: location)
        }
        for required in kind.requiredHooks where !shape.functionKeys.contains(required) {
            throw LuaError(kind: .runtime, message: "a \(kind.rawValue) plugin must define the hook '\(required)'",
                           plugin: plugin.name, location: location)
        }
        let hooks = try functionFields(of: table, names: kind.hooks.filter(shape.functionKeys.contains) + helpers)
        return LoadedPlugin(plugin: plugin, kind: kind, hooks: hooks, table: table)
    }
}

/// Levenshtein distance, for "did you mean" suggestions on short hook names.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
