import ArgumentParser
import Foundation
import Store
import StoreSQLite

/// `conflux tokens create|list|revoke`: admin API tokens, each with a role.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Issue, list and revoke admin API tokens (roles: developer, reviewer, operator).",
        discussion: "Once a token exists (and always in production) every admin API call needs `Authorization: Bearer TOKEN`.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct DataOption: ParsableArguments {
        @Option(help: "Data directory of `conflux serve`.") var data: String

        func open() throws -> SQLiteAdminTokens {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            return try SQLiteAdminTokens(path: URL(fileURLWithPath: data).appendingPathComponent("conflux.sqlite").path)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token; it is printed once and stored only as a hash.")
        @Option(help: "Who it is for (recorded as the actor of every call made with it).") var name: String
        @Option(help: "developer, reviewer or operator.") var role: String
        @OptionGroup var data: DataOption

        func run() async throws {
            guard let role = AdminRole(rawValue: role) else { throw ValidationError("--role must be developer, reviewer or operator") }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--name must not be empty") }
            let (info, token) = try await data.open().issue(name: name, role: role, now: Date())
            FileHandle.standardError.write(Data("issued token \(info.id) for \(info.name) (\(role.rawValue)); it is not shown again\n".utf8))
            print(token)
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var data: DataOption

        func run() async throws {
            for token in try await data.open().list() {
                print("\(token.id)  \(token.role.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))  \(token.name)"
                      + (token.revokedAt.map { "  (revoked \($0.formatted(.iso8601)))" } ?? ""))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        @Argument(help: "The token's id (the part after cfx_).") var id: String
        @OptionGroup var data: DataOption

        func run() async throws {
            guard try await data.open().revoke(id: id, now: Date()) else { throw CLIError("no active token \(id)") }
            print("revoked \(id)")
        }
    }
}
