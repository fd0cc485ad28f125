import ArgumentParser
import Foundation
import LuaRuntime

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Inspect the Lua sandbox.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a Lua file as a plugin chunk in a fresh sandbox and print one JSON line.",
            discussion: """
                Prints {"ok":true,"result":…,"elapsed_ms":…,"instructions":…,"memory_peak_bytes":…} or \
                {"ok":false,"error":{"kind":…,"message":…,"location":…},"elapsed_ms":…}. \
                Exit status 0 when ok, 3 when the script failed and was contained.
                """
        )

        @Argument(help: "The Lua file.") var file: String
        @Option(help: "Environment profile: dev, staging or production.") var profile = "dev"

        func validate() throws {
            guard SandboxProfile.names.contains(profile) else {
                throw ValidationError("--profile must be one of \(SandboxProfile.names.joined(separator: ", "))")
            }
        }

        func run() async throws {
            let layout = try ProjectLayout.locate()
            let profile = try layout.profile(profile)
            let check = await SandboxCheck.run(file: URL(fileURLWithPath: file), limits: profile.limits,
                                               logger: CLILogging.logger("conflux.sandbox"))
            print(check.jsonLine)
            if check.exitCode != 0 { throw ExitCode(check.exitCode) }
        }
    }
}
