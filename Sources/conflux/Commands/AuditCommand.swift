import ArgumentParser
import Foundation
import Store
import StoreSQLite

/// `conflux audit verify|export`: the tamper-evident trail of the store in DATA.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify or export the hash-chained audit trail.",
        subcommands: [Verify.self, Export.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the chain; exit 1 naming the first record that was altered, removed or reordered.")
        @OptionGroup var store: MessagesCommand.StoreOptions

        func run() async throws {
            switch try await store.open().verifyAudit() {
            case .intact(let records, let head):
                print("audit chain intact: \(records) records, head \(head)")
            case .broken(let sequence, let reason):
                print("audit chain broken at record \(sequence): \(reason)")
                throw ExitCode(1)
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write audit records as JSON Lines.")
        @OptionGroup var store: MessagesCommand.StoreOptions
        @Option(help: "Only records at or after this time (ISO 8601, e.g. 2026-11-21T00:00:00Z).") var since: String?
        @Option(help: "At most this many records.") var limit = 1_000_000

        func run() async throws {
            var from: Date?
            if let since {
                guard let date = try? Date(since, strategy: .iso8601) else {
                    throw ValidationError("--since must be an ISO 8601 time like 2026-11-21T00:00:00Z, got '\(since)'")
                }
                from = date
            }
            let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            for record in try await store.open().auditRecords(since: from, limit: limit) {
                let entry = record.entry
                let fields: [(String, String)] = [
                    ("seq", String(record.sequence)), ("at", AuditDetail.quote(record.at.formatted(format))),
                    ("actor", AuditDetail.quote(entry.actor)), ("action", AuditDetail.quote(entry.action)),
                    ("subject", AuditDetail.quote(entry.subject)),
                    ("correlation_id", entry.correlationId.map(AuditDetail.quote) ?? "null"),
                    ("detail", entry.detail), ("prev_hash", AuditDetail.quote(record.previousHash)),
                    ("hash", AuditDetail.quote(record.hash)),
                ]
                print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
            }
        }
    }
}
