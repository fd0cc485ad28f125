import ArgumentParser
import Foundation
import Secrets
import Store
import StoreSQLite

/// `conflux secrets`: values come from stdin, never argv (argv is visible to every user in `ps`); nothing prints a
/// value back.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage secrets sealed at rest (AES-GCM under the master key).",
        discussion: """
            The master key comes from CONFLUX_MASTER_KEY (32 bytes, base64 or hex) or from a key file readable by its \
            owner only (default DATA/master.key; create one with `conflux secrets init-key`).
            """,
        subcommands: [InitKey.self, Set.self, Rotate.self, List.self, Delete.self]
    )

    struct VaultOptions: ParsableArguments {
        @Option(help: "Data directory given to `conflux serve`.") var data: String
        @Option(help: "Master key file (default DATA/master.key); CONFLUX_MASTER_KEY wins when set.") var keyFile: String?

        var keyURL: URL { keyFile.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: data).appendingPathComponent("master.key") }

        func open() throws -> SecretVault {
            let key: MasterKey
            do { key = try MasterKey.load(keyFile: keyURL) } catch { throw CLIError(error.description) }
            let records = try SQLiteSecretRecords(path: URL(fileURLWithPath: data).appendingPathComponent("conflux.sqlite").path)
            return SecretVault(records: records, key: key)
        }
    }

    /// The value on stdin, without one trailing newline (what `echo` and here-strings add).
    static func readValue() throws -> [UInt8] {
        var value = Array(FileHandle.standardInput.readDataToEndOfFile())
        if value.last == UInt8(ascii: "\n") { value.removeLast() }
        if value.last == UInt8(ascii: "\r") { value.removeLast() }
        guard !value.isEmpty else { throw CLIError("no value on stdin (pipe it in: `printf %s \"$VALUE\" | conflux secrets set NAME --data DIR`)") }
        return value
    }

    struct InitKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "init-key", abstract: "Create a new random master key file (mode 600).")
        @OptionGroup var vault: VaultOptions

        func run() async throws {
            do { try MasterKey.create(keyFile: vault.keyURL) } catch { throw CLIError(error.description) }
            print("created \(vault.keyURL.path) (mode 600); keep a copy somewhere safe: without it no secret opens")
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a secret; the value is read from stdin.")
        @Argument(help: "Name, like odoo/api_key.") var name: String
        @OptionGroup var vault: VaultOptions

        func run() async throws {
            do { try SecretVault.checkName(name) } catch { throw ValidationError(error.description) }
            let version = try await vault.open().set(name, value: try SecretsCommand.readValue())
            print("\(name): version \(version) stored")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace an existing secret's value (stdin) with a new version.")
        @Argument(help: "Name of an existing secret.") var name: String
        @OptionGroup var vault: VaultOptions

        func run() async throws {
            let opened = try vault.open()
            guard try await opened.list().contains(where: { $0.name == name }) else {
                throw CLIError("no secret named \(name) to rotate (use `conflux secrets set \(name)` to create it)")
            }
            let version = try await opened.set(name, value: try SecretsCommand.readValue())
            print("\(name): rotated to version \(version)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Names, versions, dates — never values.")
        @OptionGroup var vault: VaultOptions

        func run() async throws {
            let records = try SQLiteSecretRecords(path: URL(fileURLWithPath: vault.data).appendingPathComponent("conflux.sqlite").path)
            let format = Date.ISO8601FormatStyle()
            for info in try await records.list() {
                print("\(info.name)\tversion \(info.version)\tset \(info.createdAt.formatted(format))\tlast used \(info.lastUsedAt?.formatted(format) ?? "never")")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every version of a secret.")
        @Argument(help: "Name.") var name: String
        @OptionGroup var vault: VaultOptions

        func run() async throws {
            let records = try SQLiteSecretRecords(path: URL(fileURLWithPath: vault.data).appendingPathComponent("conflux.sqlite").path)
            guard try await records.delete(name: name) else { throw CLIError("no secret named \(name)") }
            print("\(name): deleted")
        }
    }
}
