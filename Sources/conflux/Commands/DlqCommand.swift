import ArgumentParser
import Foundation
import Server
import Store

/// Dead letters from the command line. Works on the queue file while the server runs (SQLite WAL); a replayed message
/// keeps its id and correlation id and is picked up by the running workers.
struct DlqCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, show, replay and purge dead letters.",
        subcommands: [List.self, Show.self, Replay.self, Purge.self]
    )

    struct Selection: ParsableArguments {
        @Argument(help: "Message ids.") var ids: [String] = []
        @Flag(help: "Every dead letter (with --source: every one of that source).") var all = false
        @Option(help: "Only dead letters of this source.") var source: String?

        func resolve(_ store: any MessageStore) async throws -> [String] {
            guard !ids.isEmpty != (all || source != nil) else {
                throw ValidationError("name message ids, or select with --all / --source (not both)")
            }
            if !ids.isEmpty { return ids }
            return try await store.list(MessageFilter(status: .dead, source: source, limit: Int.max)).map(\.id)
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var store: MessagesCommand.StoreOptions
        @Option(help: "Only this source.") var source: String?
        @Option(help: "At most this many.") var limit = 100

        func run() async throws {
            for message in try await store.open().list(MessageFilter(status: .dead, source: source, limit: limit)) {
                print(MessageJSON.summary(message))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var store: MessagesCommand.StoreOptions
        @Argument(help: "Message id.") var id: String

        func run() async throws {
            let store = try store.open()
            guard let message = try await store.message(id: id), message.status == .dead else { throw CLIError("no dead letter \(id)") }
            print(MessageJSON.detail(message, attempts: try await store.attempts(id: id)))
        }
    }

    struct Replay: AsyncParsableCommand {
        @OptionGroup var store: MessagesCommand.StoreOptions
        @OptionGroup var selection: Selection

        func run() async throws {
            let store = try store.open()
            try await DlqCommand.apply(selection, on: store, status: "replayed") { try await store.replay(ids: $0, now: Date()) }
        }
    }

    struct Purge: AsyncParsableCommand {
        @OptionGroup var store: MessagesCommand.StoreOptions
        @OptionGroup var selection: Selection

        func run() async throws {
            let store = try store.open()
            try await DlqCommand.apply(selection, on: store, status: "purged") { try await store.purge(ids: $0) }
        }
    }

    /// Runs a dead-letter operation on the selection, prints what it did, and fails for ids that were not dead letters.
    static func apply(_ selection: Selection, on store: any MessageStore, status: String,
                      _ operation: ([String]) async throws -> [String]) async throws {
        let wanted = try await selection.resolve(store)
        let done = try await operation(wanted)
        for id in done { print(#"{"id":"\#(id)","status":"\#(status)"}"#) }
        let missing = Set(wanted).subtracting(done)
        for id in missing.sorted() { FileHandle.standardError.write(Data("not a dead letter: \(id)\n".utf8)) }
        if !missing.isEmpty { throw ExitCode(1) }
    }
}
