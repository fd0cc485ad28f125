import Catalog
import Egress
import Foundation
import Logging
import LuaRuntime
import Pipeline
import Server
import ServiceLifecycle
import Store

/// What `conflux serve` takes from the catalog: which plugin versions run here (and why the others do not), their
/// egress lists, which flows are approved, and the catalog routes of the admin API.
struct CatalogRuntime {
    let environment: RuntimeEnvironment
    let catalog: Catalog
    let specs: [PluginSpec]
    let refusals: [String: String]
    let policies: [String: EgressPolicy]
    /// Flow files (absolute paths) that a runnable catalog entry of kind flow names.
    let runnableFlowFiles: Set<String>

    init(environment: RuntimeEnvironment, projectRoot: URL, catalogDirectory: URL, logger: Logger) {
        self.environment = environment
        let catalog = Catalog.load(projectRoot: projectRoot, directory: catalogDirectory)
        self.catalog = catalog
        for problem in catalog.problems {
            let metadata: Logger.Metadata = ["at": "\(problem.file):\(problem.line)", "field": "\(problem.field)"]
            if problem.severity == .error { logger.error("catalog: \(problem.message)", metadata: metadata) } else {
                logger.warning("catalog: \(problem.message)", metadata: metadata)
            }
        }
        var specs: [PluginSpec] = [], refusals: [String: String] = [:], policies: [String: EgressPolicy] = [:], flows = Set<String>()
        for manifest in catalog.entries {
            if let reason = catalog.refusal(of: manifest, in: environment) {
                refusals[manifest.id] = reason
                logger.error("refusing catalog entry; the others keep serving", metadata: ["entry": "\(manifest.id)", "reason": "\(reason)"])
                continue
            }
            if manifest.kind == .flow {
                flows.insert(catalog.entryURL(manifest).path)
            } else {
                specs.append(PluginReloader.spec(manifest, catalog: catalog))
                policies[manifest.id] = manifest.egress
            }
        }
        (self.specs, self.refusals, self.policies, self.runnableFlowFiles) = (specs, refusals, policies, flows)
    }

    /// Whether a flow may name this plugin reference: a catalog entry satisfies it, or (outside production) a folder.
    func pluginExists(_ text: String, pluginsDirectory: URL) -> Bool {
        guard let reference = PluginReference(text) else { return false }
        if catalog.entry(for: reference) != nil { return true }
        return environment.allowsUncataloged && reference.requirement == .any
            && FileManager.default.fileExists(atPath: pluginsDirectory.appendingPathComponent(reference.name).appendingPathComponent(Plugin.entryFileName).path)
    }

    /// Production serves only flows whose file an approved flow entry names (at the approved hash).
    func runnable(_ flows: [FlowDefinition], logger: Logger) -> [FlowDefinition] {
        guard environment == .production else { return flows }
        return flows.filter { flow in
            let path = URL(fileURLWithPath: flow.file).standardizedFileURL.path
            if runnableFlowFiles.contains(path) { return true }
            let entry = catalog.entries.first { $0.kind == .flow && catalog.entryURL($0).path == path }
            logger.error("refusing flow; the others keep serving", metadata: [
                "flow": "\(flow.name)",
                "reason": "\(entry.map { refusals[$0.id] ?? "refused" } ?? "no catalog entry of kind flow names \(flow.file)")",
            ])
            return false
        }
    }

    func handlers(reloader: PluginReloader, governance: Governance, pluginsDirectory: URL) -> CatalogHandlers {
        let environment = environment
        let projectRoot = catalog.projectRoot, catalogDirectory = catalog.directory
        return CatalogHandlers(
            status: { await CatalogRuntime.statusJSON(reloader: reloader, environment: environment) },
            entries: { CatalogRuntime.entriesJSON(Catalog.load(projectRoot: projectRoot, directory: catalogDirectory), environment: environment) },
            transition: { action, id, by, reason in
                guard let action = LifecycleAction(rawValue: action) else { return (404, JSONText.object([("error", JSONText.string("unknown action"))])) }
                do {
                    let manifest = try await governance.apply(action, id: id, by: by, reason: reason)
                    return (200, JSONText.object([("id", JSONText.string(manifest.id)), ("status", JSONText.string(manifest.status.rawValue)),
                                                  ("by", JSONText.string(by)), ("sha256", JSONText.string(manifest.approvals.last?.sha256 ?? ""))]))
                } catch let error as GovernanceError {
                    let status = switch error.code {
                    case .notFound: 404
                    case .invalidTransition: 409
                    case .fourEyes: 403
                    case .invalidEntry: 422
                    case .missingReason: 400
                    case .writeFailed: 500
                    }
                    return (status, JSONText.object([("error", JSONText.object([("code", JSONText.string(error.code.rawValue)),
                                                                                 ("message", JSONText.string(error.description))]))]))
                } catch {
                    return (500, JSONText.object([("error", JSONText.object([("code", JSONText.string("internal")), ("message", JSONText.string("\(error)"))]))]))
                }
            },
            writePluginFile: environment.hotReloads ? { @Sendable id, path, bytes in
                PluginFileWriter.write(id: id, path: path, bytes: bytes,
                                       catalog: Catalog.load(projectRoot: projectRoot, directory: catalogDirectory), pluginsDirectory: pluginsDirectory)
            } : nil)
    }

    static func statusJSON(reloader: PluginReloader, environment: RuntimeEnvironment) async -> String {
        let (loaded, results, refusals) = await reloader.status()
        let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        func result(_ id: String) -> String {
            guard let last = results[id] else { return "null" }
            return JSONText.object([("result", JSONText.string(last.succeeded ? "ok" : "failed")), ("at", JSONText.string(last.at.formatted(format))),
                                    ("ms", String(last.milliseconds)), ("message", JSONText.string(last.message))])
        }
        let plugins = loaded.map { item in
            JSONText.object([("id", JSONText.string(item.spec.id)), ("name", JSONText.string(item.spec.name)),
                             ("version", item.spec.version.map { JSONText.string($0.description) } ?? "null"),
                             ("sha256", JSONText.string(item.sha256)), ("folder", JSONText.string(item.spec.folder.path)),
                             ("last_reload", result(item.spec.id))])
        }
        let failedOnly = results.keys.filter { id in !loaded.contains { $0.spec.id == id } }.sorted()
        let refused = Set(refusals.keys).union(failedOnly).sorted().map { id in
            JSONText.object([("id", JSONText.string(id)), ("reason", JSONText.string(refusals[id] ?? results[id]?.message ?? "")),
                             ("last_reload", result(id))])
        }
        return JSONText.object([("environment", JSONText.string(environment.rawValue)), ("hot_reload", environment.hotReloads ? "true" : "false"),
                                ("plugins", "[" + plugins.joined(separator: ",") + "]"), ("refused", "[" + refused.joined(separator: ",") + "]")])
    }

    static func entriesJSON(_ catalog: Catalog, environment: RuntimeEnvironment) -> String {
        let items = catalog.entries.sorted { ($0.name, $0.version) < ($1.name, $1.version) }.map { manifest in
            JSONText.object([
                ("id", JSONText.string(manifest.id)), ("kind", JSONText.string(manifest.kind.rawValue)),
                ("status", JSONText.string(manifest.status.rawValue)), ("owner", JSONText.string(manifest.owner)),
                ("team", JSONText.string(manifest.team)), ("sha256", catalog.hashes[manifest.id].map { JSONText.string($0.sha256) } ?? "null"),
                ("approved_sha256", manifest.standingApproval.map { JSONText.string($0.sha256) } ?? "null"),
                ("refused_here", catalog.refusal(of: manifest, in: environment).map(JSONText.string) ?? "null"),
            ])
        }
        return JSONText.object([("entries", "[" + items.joined(separator: ",") + "]")])
    }
}

/// The hot-reload loop as a service of `conflux serve`: debounced batches from the watcher go to the reloader.
struct CatalogWatchService: Service {
    let watcher: DirectoryWatcher
    let reloader: PluginReloader

    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            for await batch in watcher.changes { await reloader.reload(changed: batch) }
        } onCancelOrGracefulShutdown: {
            watcher.stop()
        }
    }
}
