import ArgumentParser
import Foundation
import LuaRuntime
import Store
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

enum MessageJSON {
    static func summary(_ message: StoredMessage) -> String {
        JSONText.object(fields(message))
    }

    static func detail(_ message: StoredMessage, attempts: [AttemptRecord]) -> String {
        let history = attempts.map { attempt in
            JSONText.object([
                ("number", String(attempt.number)), ("outcome", JSONText.string(attempt.outcome.rawValue)),
                ("started_at", JSONText.string(ISO8601DateFormatter().string(from: attempt.startedAt))),
                ("finished_at", JSONText.string(ISO8601DateFormatter().string(from: attempt.finishedAt))),
                ("error_kind", attempt.errorKind.map(JSONText.string) ?? "null"),
                ("error_message", attempt.errorMessage.map(JSONText.string) ?? "null"),
            ])
        }
        return JSONText.object(fields(message) + [
            ("headers", JSONText.object(message.headers.sorted { $0.key < $1.key }.map { ($0.key, JSONText.string($0.value)) })),
            ("body", JSONText.string(String(decoding: message.body, as: UTF8.self))),
            ("attempt_history", "[" + history.joined(separator: ",") + "]"),
        ])
    }

    private static func fields(_ message: StoredMessage) -> [(String, String)] {
        [
            ("id", JSONText.string(message.id)), ("sequence", String(message.sequence)), ("source", JSONText.string(message.source)),
            ("status", JSONText.string(message.status.rawValue)), ("attempts", String(message.attempts)),
            ("correlation_id", JSONText.string(message.correlationId)),
            ("idempotency_key", message.idempotencyKey.map(JSONText.string) ?? "null"),
            ("ordering_key", message.orderingKey.map(JSONText.string) ?? "null"),
            ("content_type", JSONText.string(message.contentType)), ("body_bytes", String(message.body.count)),
            ("accepted_at", JSONText.string(ISO8601DateFormatter().string(from: message.acceptedAt))),
            ("last_error", message.lastError.map(JSONText.string) ?? "null"),
        ]
    }
}
