import ArgumentParser
import Foundation
import LuaRuntime

struct PluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin",
        abstract: "Create, run and test Lua plugins.",
        subcommands: [New.self, Run.self, Test.self]
    )

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Scaffold plugins/NAME/ with a passing example test.")
        @Argument(help: "Plugin name (lower-case letters, digits, '-').") var name: String
        @Option(help: "source, mapping or connector.") var kind: String
        @Option(help: "Folder holding the plugins (default: the project's plugins/).") var pluginsDir: String?

        func run() async throws {
            guard let kind = PluginKind(rawValue: kind) else {
                throw ValidationError("--kind must be one of \(PluginKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let directory = try pluginsDir.map { URL(fileURLWithPath: $0) } ?? ProjectLayout.locate().plugins
            let files = try PluginScaffold.create(name: name, kind: kind, in: directory)
            for file in files { print("created \(file.path)") }
            print("next: conflux plugin test \(directory.appendingPathComponent(name).path)")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Call one hook of a plugin with an input file and print its result as JSON.")
        @Argument(help: "Plugin name (under plugins/) or folder path.") var plugin: String
        @Option(help: "The hook: decode, map, deliver, poll or reconcile.") var hook: String
        @Option(help: "Input file: JSON, or the raw payload for decode.") var input: String
        @Option(help: "Context as a JSON object.") var context = "{}"
        @Option(help: "Environment profile: dev, staging or production.") var profile = "dev"

        func run() async throws {
            let layout = try ProjectLayout.locate()
            let limits = try layout.profile(profile).limits
            let plugin = try Plugin.locate(plugin, pluginsDirectory: layout.plugins)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: input)))
            let logger = CLILogging.logger("conflux.plugin")
            do {
                let instance = try await PluginInstance.load(plugin, limits: limits, logger: logger)
                let argument: LuaArgument = hook == "decode" ? .string(bytes) : .json(bytes)
                switch try await instance.invoke(hook, input: argument, context: Array(context.utf8)) {
                case .json(let output): print(String(decoding: output, as: UTF8.self))
                case .nothing, .value: print("null")
                }
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                if let traceback = error.traceback { FileHandle.standardError.write(Data("\(traceback)\n".utf8)) }
                throw ExitCode(3)
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a plugin's spec/*_spec.lua tests in the sandbox.",
            discussion: "Prints each failure with file:line and ends with the line 'N passed, N failed'; exits non-zero on any failure."
        )
        @Argument(help: "Plugin name (under plugins/) or folder path.") var plugin: String
        @Option(help: "Environment profile: dev, staging or production.") var profile = "dev"

        func run() async throws {
            let layout = try ProjectLayout.locate()
            let limits = try layout.profile(profile).limits
            let plugin = try Plugin.locate(plugin, pluginsDirectory: layout.plugins)
            let report = await PluginTestRunner.run(plugin, limits: limits, logger: CLILogging.logger("conflux.test"))
            print("plugin \(report.plugin)\(report.kind.map { " (\($0.rawValue))" } ?? "")")
            for result in report.results {
                switch result.status {
                case .passed: print("  ok       \(result.name)")
                case .pending: print("  pending  \(result.name)\(result.message.map { ": \($0)" } ?? "")")
                case .failed:
                    print("  FAIL     \(result.name)")
                    let message = (result.message ?? "failed").replacingOccurrences(of: "\n", with: "\n           ")
                    print("           \(result.location ?? "?"): \(message)")
                }
            }
            if report.pending > 0 { print("\(report.pending) pending") }
            print("\(report.passed) passed, \(report.failed) failed")
            if report.failed > 0 { throw ExitCode(1) }
        }
    }
}
