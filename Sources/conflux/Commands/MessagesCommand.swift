import ArgumentParser
import Foundation
import LuaRuntime
import Store
import Server
import StoreSQLite

/// Reading the queue from the command line: one JSON object per line, bodies summarised.
struct MessagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages",
        abstract: "List and show messages in the queue.",
        subcommands: [List.self, Show.self]
    )

    struct StoreOptions: ParsableArguments {
        @Option(help: "Data directory given to `conflux serve`.") var data: String

        func open() throws -> SQLiteMessageStore {
            let path = URL(fileURLWithPath: data).appendingPathComponent("conflux.sqlite").path
            guard FileManager.default.fileExists(atPath: path) else { throw CLIError("no queue at \(path) (was `conflux serve --data \(data)` run?)") }
            return try SQLiteMessageStore(path: path)
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var store: StoreOptions
        @Option(help: "ready, leased, done or dead.") var status: String?
        @Option(help: "Only this source.") var source: String?
        @Option(help: "At most this many.") var limit = 100

        func run() async throws {
            let status = try status.map { name -> MessageStatus in
                guard let status = MessageStatus(rawValue: name) else { throw ValidationError("--status must be one of ready, leased, done, dead") }
                return status
            }
            for message in try await store.open().list(MessageFilter(status: status, source: source, limit: limit)) {
                print(MessageJSON.summary(message))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var store: StoreOptions
        @Argument(help: "Message id.") var id: String

        func run() async throws {
            let store = try store.open()
            guard let message = try await store.message(id: id) else { throw CLIError("no message \(id)") }
            print(MessageJSON.detail(message, attempts: try await store.attempts(id: id)))
        }
    }
}

