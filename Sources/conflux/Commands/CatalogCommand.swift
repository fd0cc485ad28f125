import ArgumentParser
import Catalog
import Foundation
import HTTPTransport
import LuaRuntime
import Store
import StoreSQLite

/// `conflux catalog …`: what the governance board and developers do with the catalog.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Validate the catalog, move entries through review, compare versions, and write the board's review pack.",
        subcommands: [Validate.self, Transition<Submit>.self, Transition<Approve>.self, Transition<Reject>.self, Transition<Deprecate>.self,
                      Transition<Retire>.self, Status.self, Diff.self, Report.self]
    )

    struct CatalogOptions: ParsableArguments {
        @Option(help: "Catalog folder (default: the project's catalog/).") var catalog: String?

        func load() throws -> (ProjectLayout, Catalog) {
            let layout = try ProjectLayout.locate()
            return (layout, Catalog.load(projectRoot: layout.root, directory: catalog.map { URL(fileURLWithPath: $0) }))
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every manifest and the catalog as a whole; exit 1 when there is an error.",
            discussion: "Each problem is printed as FILE:LINE: error|warning: FIELD: what is wrong and what is expected.")
        @OptionGroup var options: CatalogOptions

        func run() async throws {
            let (_, catalog) = try options.load()
            for problem in catalog.problems.sorted(by: { ($0.file, $0.line) < ($1.file, $1.line) }) { print(problem) }
            print("\(catalog.entries.count) entries, \(catalog.errors.count) errors, \(catalog.warnings.count) warnings")
            if !catalog.errors.isEmpty { throw ExitCode(1) }
        }
    }

    protocol Action { static var action: LifecycleAction { get } }
    enum Submit: Action { static let action = LifecycleAction.submit }
    enum Approve: Action { static let action = LifecycleAction.approve }
    enum Reject: Action { static let action = LifecycleAction.reject }
    enum Deprecate: Action { static let action = LifecycleAction.deprecate }
    enum Retire: Action { static let action = LifecycleAction.retire }

    /// `submit|approve|reject|deprecate|retire NAME@VERSION --by WHO --reason "…" --data DIR`.
    struct Transition<A: Action>: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(
                commandName: A.action.rawValue,
                abstract: "Move an entry to \(A.action.target.rawValue) (from \(A.action.allowedFrom.map(\.rawValue).joined(separator: " or "))).",
                discussion: "Writes the decision (who, when, why, the folder's sha256) into the manifest and records it in the audit trail of DATA."
                    + (A.action == .approve || A.action == .reject ? " Four eyes: the owner and the submitter cannot decide." : ""))
        }
        @Argument(help: "The entry, NAME@VERSION.") var entry: String
        @Option(help: "Who decides (a name or e-mail address).") var by: String
        @Option(help: "Why.") var reason: String
        @Option(help: "Data directory whose audit trail records the decision.") var data: String
        @OptionGroup var options: CatalogOptions

        func run() async throws {
            let layout = try ProjectLayout.locate()
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            let store = try SQLiteMessageStore(path: URL(fileURLWithPath: data).appendingPathComponent("conflux.sqlite").path)
            let governance = Governance(projectRoot: layout.root, catalogDirectory: options.catalog.map { URL(fileURLWithPath: $0) }, audit: store)
            do {
                let manifest = try await governance.apply(A.action, id: entry, by: by, reason: reason)
                let hash = manifest.approvals.last?.sha256 ?? ""
                print("\(manifest.id): \(manifest.status.rawValue) by \(by) (sha256 \(hash)); written to \(manifest.file)")
            } catch let error as GovernanceError {
                FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every entry: version, status, folder hash, and what each environment does with it.",
            discussion: "With --server, asks a running `conflux serve` instead: the versions it has loaded, their hashes and the last hot-reload result.")
        @OptionGroup var options: CatalogOptions
        @Option(help: "A running server's address, like http://127.0.0.1:8080.") var server: String?
        @Option(help: "Admin token for --server (or CONFLUX_TOKEN).") var token: String?

        func run() async throws {
            if let server {
                try await remote(server)
                return
            }
            let (_, catalog) = try options.load()
            print(pad(["ENTRY", "KIND", "STATUS", "SHA256 NOW", "PRODUCTION"], [34, 10, 11, 14]))
            for manifest in catalog.entries.sorted(by: { ($0.name, $0.version) < ($1.name, $1.version) }) {
                let hash = catalog.hashes[manifest.id].map { String($0.sha256.prefix(12)) } ?? "-"
                let verdict = catalog.refusal(of: manifest, in: .production).map { "refused: \($0)" } ?? "runs"
                print(pad([manifest.id, manifest.kind.rawValue, manifest.status.rawValue, hash, verdict], [34, 10, 11, 14]))
            }
        }

        private func remote(_ server: String) async throws {
            let url = server.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/api/catalog/status"
            var headers: [HTTPHeader] = []
            if let token = token ?? ProcessInfo.processInfo.environment["CONFLUX_TOKEN"] { headers.append(HTTPHeader("Authorization", "Bearer \(token)")) }
            let client = HTTPClient(configuration: .init(name: "catalog-status"))
            defer { client.shutdown() }
            let response: HTTPClient.Response
            do {
                response = try await client.execute(.init(url: url, headers: headers, timeout: .seconds(10), addressPolicy: .allowAll))
            } catch {
                throw CLIError("\(url): \(error)")
            }
            guard response.status == 200, let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                  let plugins = object["plugins"] as? [[String: Any]] else {
                throw CLIError("\(url): HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))")
            }
            print("environment: \(object["environment"] ?? "?")")
            print(pad(["PLUGIN", "SHA256", "LAST RELOAD"], [34, 14]))
            for plugin in plugins {
                let hash = (plugin["sha256"] as? String).map { String($0.prefix(12)) } ?? "-"
                var reload = "-"
                if let last = plugin["last_reload"] as? [String: Any] {
                    reload = "\(last["result"] ?? "?") at \(last["at"] ?? "?")"
                    if let message = last["message"] as? String, !message.isEmpty { reload += ": \(message)" }
                }
                print(pad(["\(plugin["id"] ?? "?")", hash, reload], [34, 14]))
            }
            for refusal in object["refused"] as? [[String: Any]] ?? [] {
                print("refused \(refusal["id"] ?? "?"): \(refusal["reason"] ?? "?")")
            }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what changed between two versions of an entry: manifest and source.")
        @Argument(help: "The entry's name.") var name: String
        @Argument(help: "The older version.") var from: String
        @Argument(help: "The newer version.") var to: String
        @OptionGroup var options: CatalogOptions

        func run() async throws {
            let (_, catalog) = try options.load()
            guard let old = catalog.entry(id: "\(name)@\(from)"), let new = catalog.entry(id: "\(name)@\(to)") else {
                let known = catalog.entries.filter { $0.name == name }.map(\.version.description)
                throw CLIError("no \(name)@\(catalog.entry(id: "\(name)@\(from)") == nil ? from : to) in the catalog"
                               + (known.isEmpty ? "" : " (versions: \(known.joined(separator: ", ")))"))
            }
            var output = ""
            output += LineDiff.unified(old: read(catalog.projectRoot.appendingPathComponent(old.file)),
                                       new: read(catalog.projectRoot.appendingPathComponent(new.file)), oldName: old.file, newName: new.file)
            let oldFiles = catalog.hashes[old.id]?.files ?? [:], newFiles = catalog.hashes[new.id]?.files ?? [:]
            let oldRoot = catalog.entryURL(old), newRoot = catalog.entryURL(new)
            for path in Set(oldFiles.keys).union(newFiles.keys).sorted() where oldFiles[path] != newFiles[path] {
                let oldURL = old.kind == .flow ? oldRoot : oldRoot.appendingPathComponent(path)
                let newURL = new.kind == .flow ? newRoot : newRoot.appendingPathComponent(path)
                output += LineDiff.unified(old: oldFiles[path] == nil ? "" : read(oldURL), new: newFiles[path] == nil ? "" : read(newURL),
                                           oldName: oldFiles[path] == nil ? "/dev/null" : "\(old.entry)/\(path)",
                                           newName: newFiles[path] == nil ? "/dev/null" : "\(new.entry)/\(path)")
            }
            print(output.isEmpty ? "\(old.id) and \(new.id) are identical apart from the version" : output, terminator: "")
        }

        private func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the board's review pack: every entry with owner, data, egress, SLA, tests, changes since approval and open decisions.")
        @Option(help: "html or md.") var format: String = "html"
        @Option(help: "Output file.") var out: String
        @Option(help: "Sandbox profile the plugins' tests run under.") var env = "staging"
        @OptionGroup var options: CatalogOptions

        func run() async throws {
            guard let format = CatalogReport.Format(rawValue: format) else { throw ValidationError("--format must be html or md") }
            let (layout, catalog) = try options.load()
            let limits = try layout.profile(env).limits
            var tests: [String: PluginTestRunner.Report] = [:]
            for manifest in catalog.entries where manifest.kind != .flow && catalog.hashes[manifest.id] != nil {
                tests[manifest.id] = await PluginTestRunner.run(Plugin(name: manifest.id, folder: catalog.entryURL(manifest)), limits: limits,
                                                                logger: CLILogging.logger("conflux.catalog.report"))
            }
            let text = CatalogReport.render(catalog, tests: tests, format: format, generatedAt: Date())
            try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            print("wrote \(out): \(catalog.entries.count) entries, \(catalog.entries.filter { $0.status == .submitted }.count) awaiting a decision")
        }
    }
}

private func pad(_ columns: [String], _ widths: [Int]) -> String {
    var line = ""
    for (index, column) in columns.enumerated() {
        if index < widths.count { line += column.padding(toLength: max(widths[index], column.count + 1), withPad: " ", startingAt: 0) } else { line += column }
    }
    return line
}
