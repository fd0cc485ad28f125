import ArgumentParser
import Foundation
import Pipeline
import Store
import StoreSQLite

/// `conflux schedules list|run`: the flows' schedules, and a run enqueued now — what an operator does after fixing
/// a partner's data, rather than waiting for the night's reconciliation.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules",
        abstract: "List the flows' schedules, or enqueue a run now.",
        subcommands: [List.self, Run.self]
    )

    struct FlowOptions: ParsableArguments {
        @Option(help: "Folder of flow files (default: the project's catalog/flows).") var flows: String?

        func load() throws -> [FlowDefinition] {
            let folder = try flows.map { URL(fileURLWithPath: $0) } ?? ProjectLayout.locate().root.appendingPathComponent("catalog/flows")
            do { return try FlowLoader.load(directory: folder) { _ in true } } catch {
                throw CLIError("invalid flows:\n" + error.problems.map(\.description).joined(separator: "\n"))
            }
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var options: FlowOptions

        func run() async throws {
            for flow in try options.load() {
                for schedule in flow.schedules {
                    print("\(flow.name)/\(schedule.name): \(schedule.plugin).\(schedule.hook) at \"\(schedule.cron)\"")
                }
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enqueue one run of FLOW/SCHEDULE now; a running server picks it up.")
        @OptionGroup var options: FlowOptions
        @OptionGroup var store: MessagesCommand.StoreOptions
        @Argument(help: "FLOW/SCHEDULE, e.g. clinic-billing/nightly-reconcile.") var name: String

        func run() async throws {
            let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("expected FLOW/SCHEDULE, got '\(name)'") }
            let flows = try options.load()
            guard let flow = flows.first(where: { $0.name == parts[0] }) else {
                throw CLIError("no flow '\(parts[0])' (flows: \(flows.map(\.name).sorted().joined(separator: ", ")))")
            }
            guard let schedule = flow.schedules.first(where: { $0.name == parts[1] }) else {
                throw CLIError("flow \(flow.name) has no schedule '\(parts[1])' (schedules: \(flow.schedules.map(\.name).joined(separator: ", ")))")
            }
            let now = Date()
            let message = ScheduledRun(flow: flow, schedule: schedule, due: now).message(source: flow.source.plugin, now: now)
            switch try await store.open().enqueue([message]).first {
            case .accepted(let id): print(#"{"id":"\#(id)","status":"accepted","schedule":"\#(flow.name)/\#(schedule.name)"}"#)
            case .duplicate(let first): print(#"{"id":"\#(first)","status":"duplicate"}"#)
            case nil: throw CLIError("the store did not take the run")
            }
        }
    }
}
