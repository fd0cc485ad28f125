import Foundation
import Logging

/// Runs a plugin's busted-style tests (`spec/*_spec.lua`) inside the same sandbox the plugin runs in.
///
/// Each test is its own invocation with its own budget; a test that breaks a limit fails alone, and the state is rebuilt
/// before the next test when the breach may have left it inconsistent.
public enum PluginTestRunner {
    public struct Result: Sendable {
        public enum Status: String, Sendable { case passed, failed, pending }
        public let name: String
        public let status: Status
        /// `file:line` of the failure (or of the test when the failure has no position).
        public let location: String?
        public let message: String?
    }

    public struct Report: Sendable {
        public let plugin: String
        public let kind: PluginKind?
        public let results: [Result]
        public var passed: Int { results.filter { $0.status == .passed }.count }
        public var failed: Int { results.filter { $0.status == .failed }.count }
        public var pending: Int { results.filter { $0.status == .pending }.count }
    }

    public static func run(_ plugin: Plugin, limits: SandboxLimits, logger: Logger) async -> Report {
        var results: [Result] = []
        // The plugin must load and have the hooks of its kind before any test means anything.
        var kind: PluginKind?
        do {
            let state = try LuaState(limits: limits, context: HostContext(pluginName: plugin.name, pluginRoot: plugin.folder, logger: logger))
            defer { state.close() }
            kind = try await state.loadPlugin(plugin).kind
        } catch {
            results.append(Result(name: "plugin loads", status: .failed, location: error.location ?? PluginPaths.display(plugin.entryFile),
                                  message: "[\(error.kind)] \(error.message)"))
            return Report(plugin: plugin.name, kind: nil, results: results)
        }
        let specs = plugin.specFiles()
        if specs.isEmpty {
            results.append(Result(name: "tests exist", status: .failed, location: PluginPaths.display(plugin.specDirectory),
                                  message: "no *_spec.lua files in \(PluginPaths.display(plugin.specDirectory))"))
            return Report(plugin: plugin.name, kind: kind, results: results)
        }
        var session: TestSession
        var tests: [TestCase]
        do {
            (session, tests) = try await TestSession.open(plugin, specs: specs, limits: limits, logger: logger)
        } catch {
            results.append(Result(name: "spec files load", status: .failed, location: error.location,
                                  message: "[\(error.kind)] \(error.message)"))
            return Report(plugin: plugin.name, kind: kind, results: results)
        }
        for test in tests {
            if test.pending == true {
                results.append(Result(name: test.name, status: .pending, location: test.location, message: nil))
                continue
            }
            do {
                let outcome = try await session.runOne(test.id)
                if outcome.pending == true {
                    results.append(Result(name: test.name, status: .pending, location: test.location, message: outcome.message))
                } else if outcome.ok == true {
                    results.append(Result(name: test.name, status: .passed, location: test.location, message: nil))
                } else {
                    results.append(Result(name: test.name, status: .failed, location: outcome.location ?? test.location,
                                          message: outcome.message ?? "failed"))
                }
            } catch {
                results.append(Result(name: test.name, status: .failed, location: error.location ?? test.location,
                                      message: "[\(error.kind)] \(error.message)"))
                if error.kind.mayCorruptState || session.state.needsRecycle {
                    session.state.close()
                    do {
                        (session, _) = try await TestSession.open(plugin, specs: specs, limits: limits, logger: logger)
                    } catch {
                        results.append(Result(name: "rebuilding the test state", status: .failed, location: error.location,
                                              message: "[\(error.kind)] \(error.message)"))
                        break
                    }
                }
            }
        }
        session.state.close()
        return Report(plugin: plugin.name, kind: kind, results: results)
    }
}

struct TestCase: Decodable, Sendable {
    let id: Int
    let name: String
    let location: String?
    let pending: Bool?
}

struct TestOutcome: Decodable {
    let ok: Bool?
    let pending: Bool?
    let message: String?
    let location: String?
}

/// A state with the framework and the spec files loaded.
struct TestSession {
    let state: LuaState
    let runOneRef: LuaFunctionRef

    /// Glue between the host and the framework (LuaTestFramework.swift): gives it the fixture reader, loads each spec
    /// file with the framework's globals in front of the sandbox globals.
    static let bootstrap = #"""
local framework = ...
local F = framework({ fixture = require("fixtures").read })
local scope = {}
for name, value in pairs(F.globals) do scope[name] = value end
setmetatable(scope, { __index = _G })
local runner = {}
function runner.load_spec(source, chunkname)
  F.begin_file(chunkname)
  local env = setmetatable({}, { __index = scope })
  local fn, err = load(source, "@" .. chunkname, "t", env)
  if not fn then error(err, 0) end
  fn()
  return true
end
function runner.collect() return F.collect() end
function runner.run_one(id) return F.run_one(id) end
return runner
"""#

    static func open(_ plugin: Plugin, specs: [URL], limits: SandboxLimits, logger: Logger) async throws(LuaError) -> (TestSession, [TestCase]) {
        let state = try LuaState(limits: limits, context: HostContext(pluginName: plugin.name, pluginRoot: plugin.folder, logger: logger))
        do throws(LuaError) {
            let framework = try state.compile(source: Array(LuaTestFramework.source.utf8), chunkName: String(LuaTestFramework.chunkName.dropFirst()))
            let glue = try state.compile(source: Array(bootstrap.utf8), chunkName: "conflux/testing-host.lua")
            guard case .value(let runner) = try await state.run(glue, arguments: [.value(LuaValueRef(ref: framework.ref))], resultMode: .keep) else {
                throw LuaError(kind: .runtime, message: "the test framework did not start", plugin: plugin.name)
            }
            let functions = try state.functionFields(of: runner, names: ["load_spec", "collect", "run_one"])
            guard let loadSpec = functions["load_spec"], let collect = functions["collect"], let runOne = functions["run_one"] else {
                throw LuaError(kind: .runtime, message: "the test framework is incomplete", plugin: plugin.name)
            }
            for spec in specs {
                let source: [UInt8]
                do { source = Array(try Data(contentsOf: spec)) } catch {
                    throw LuaError(kind: .runtime, message: "cannot read \(PluginPaths.display(spec))", plugin: plugin.name)
                }
                _ = try await state.run(loadSpec, arguments: [.string(source), .string(Array(PluginPaths.display(spec).utf8))])
            }
            guard case .json(let listing) = try await state.run(collect, arguments: []) else {
                return (TestSession(state: state, runOneRef: runOne), [])
            }
            let tests = (try? JSONDecoder().decode([TestCase].self, from: Data(listing))) ?? []
            return (TestSession(state: state, runOneRef: runOne), tests)
        } catch {
            state.close()
            throw error
        }
    }

    func runOne(_ id: Int) async throws(LuaError) -> TestOutcome {
        guard case .json(let bytes) = try await state.run(runOneRef, arguments: [.json(Array(String(id).utf8))]) else {
            return TestOutcome(ok: false, pending: nil, message: "the test runner returned nothing", location: nil)
        }
        return (try? JSONDecoder().decode(TestOutcome.self, from: Data(bytes)))
            ?? TestOutcome(ok: false, pending: nil, message: "unreadable test outcome: \(String(decoding: bytes, as: UTF8.self))", location: nil)
    }
}
