import Foundation
import Testing
@testable import LuaRuntime

@Suite struct PluginLoadingTests {
    private func load(_ source: String) async throws -> Result<LoadedPlugin, LuaError> {
        let folder = try TemporaryFolder()
        try folder.write("plugin.lua", source)
        let state = try makeState(root: folder.url)
        defer { state.close() }
        do {
            return .success(try await state.loadPlugin(Plugin(name: "p", folder: folder.url)))
        } catch {
            return .failure(error)
        }
    }

    @Test(arguments: PluginKind.allCases)
    func scaffoldOfEveryKindLoadsAndPassesItsTests(kind: PluginKind) async throws {
        let folder = try TemporaryFolder()
        _ = try PluginScaffold.create(name: "demo-\(kind.rawValue)", kind: kind, in: folder.url)
        let plugin = try Plugin.locate("demo-\(kind.rawValue)", pluginsDirectory: folder.url)
        let report = await PluginTestRunner.run(plugin, limits: try profile("dev").limits, logger: testLogger)
        #expect(report.kind == kind)
        #expect(report.failed == 0, "\(report.results)")
        #expect(report.passed >= 1)
    }

    @Test func missingHookIsNamed() async throws {
        guard case .failure(let error) = try await load("return { kind = 'mapping' }") else { Issue.record("loaded"); return }
        #expect(error.message.contains("must define the hook 'map'"))
        #expect(error.plugin == "p")
    }

    @Test func misnamedHookIsNamedWithASuggestion() async throws {
        guard case .failure(let error) = try await load("return { kind = 'connector', delivr = function() end }") else {
            Issue.record("loaded")
            return
        }
        #expect(error.message.contains("'delivr' is not a hook of a connector plugin"))
        #expect(error.message.contains("did you mean 'deliver'"))
    }

    @Test func unknownKindAndNonTablesAreRejected() async throws {
        guard case .failure(let kindError) = try await load("return { kind = 'transformer' }") else { Issue.record("loaded"); return }
        #expect(kindError.message.contains("unknown kind 'transformer'"))
        guard case .failure(let tableError) = try await load("return 42") else { Issue.record("loaded"); return }
        #expect(tableError.message.contains("must return a table"))
    }

    @Test func privateHelpersAreAllowed() async throws {
        let loaded = try await load("return { kind = 'mapping', map = function() end, _parse = function() end }").get()
        #expect(loaded.kind == .mapping)
        #expect(loaded.hooks["_parse"] != nil)
    }

    @Test func failingTestsReportFileAndLine() async throws {
        let folder = try TemporaryFolder()
        try folder.write("p/plugin.lua", "return { kind = 'mapping', map = function(e) return e.n + 1 end }")
        try folder.write("p/spec/p_spec.lua", """
            local plugin = require("plugin")
            describe("p", function()
              it("adds one", function() assert.are.equal(3, plugin.map({ n = 2 })) end)
              it("is wrong", function()
                assert.are.equal(5, plugin.map({ n = 2 }))
              end)
              it("runs away", function() while true do end end)
              it("still runs after a runaway", function() assert.is_true(true) end)
            end)
            """)
        let report = await PluginTestRunner.run(try Plugin.locate("p", pluginsDirectory: folder.url),
                                                limits: try profile("production").limits, logger: testLogger)
        #expect(report.passed == 2)
        #expect(report.failed == 2)
        let wrong = report.results.first { $0.name == "p > is wrong" }
        #expect(wrong?.location?.hasSuffix("spec/p_spec.lua:5") == true, "\(String(describing: wrong))")
        let runaway = report.results.first { $0.name == "p > runs away" }
        #expect(runaway?.message?.contains("[cpu]") == true)
    }

    static let shippedPlugins: [String] = {
        let folder = repositoryRoot.appendingPathComponent("plugins")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }()

    @Test(arguments: shippedPlugins)
    func shippedPluginPassesItsTestsUnderTheProductionProfile(name: String) async throws {
        let plugin = try Plugin.locate(name, pluginsDirectory: repositoryRoot.appendingPathComponent("plugins"))
        let report = await PluginTestRunner.run(plugin, limits: try profile("production").limits, logger: testLogger)
        #expect(report.failed == 0, "\(report.results.filter { $0.status == .failed })")
        #expect(report.passed >= 1)
    }

    @Test func poolOfFourStatesStaysUnderFourMiB() async throws {
        let plugin = try Plugin.locate("appointment-invoice", pluginsDirectory: repositoryRoot.appendingPathComponent("plugins"))
        let pool = try await PluginPool.load(plugin, states: 4, limits: try profile("production").limits, logger: testLogger)
        let bytes = await pool.memoryUsed()
        #expect(bytes < 4 * 1_048_576, "\(bytes) bytes")
    }

    @Test func instanceRecyclesItsStateAfterAFaultAndKeepsServing() async throws {
        let folder = try TemporaryFolder()
        try folder.write("plugin.lua", """
            local calls = 0
            return { kind = 'mapping', map = function(e)
              calls = calls + 1
              if e.spin then while true do end end
              return calls
            end }
            """)
        let instance = try await PluginInstance.load(Plugin(name: "r", folder: folder.url), limits: try profile("production").limits, logger: testLogger)
        _ = try await instance.invoke("map", input: .json(Array("{}".utf8)))
        await #expect(throws: LuaError.self) { _ = try await instance.invoke("map", input: .json(Array(#"{"spin":true}"#.utf8))) }
        // Let the recycle task run, then the next call sees a fresh state (its module-level counter starts again).
        for _ in 0..<50 where await instance.recycleCount == 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(await instance.recycleCount == 1)
        guard case .json(let out) = try await instance.invoke("map", input: .json(Array("{}".utf8))) else { Issue.record("no result"); return }
        #expect(String(decoding: out, as: UTF8.self) == "1")
    }
}
