import Egress
import Foundation
import Logging
import LuaRuntime
import Pipeline
import Store

/// Hot reload for staging and dev. On a change under `plugins/` or `catalog/` it re-reads the catalog, and for every
/// entry whose manifest or folder changed: validates it, runs its Lua tests, loads it in fresh sandboxes, and only if
/// all of that passes swaps it in (egress list first, then the plugin pool). Invocations already running finish on
/// the old version; a failed reload leaves the old version serving and says why (log, `status()`, audit).
public actor PluginReloader {
    public struct Result: Sendable {
        public let id: String
        public let at: Date
        public let succeeded: Bool
        public let message: String
        public let milliseconds: Int
    }

    /// What serves now, by id: the folder hash and manifest hash it was loaded from.
    public struct Loaded: Sendable {
        public let spec: PluginSpec
        public let sha256: String
        public let manifestSHA256: String?
    }

    private let projectRoot: URL
    private let catalogDirectory: URL
    private let pluginsFolder: URL
    private let environment: RuntimeEnvironment
    private let directory: PluginDirectory
    private let egress: EndpointRegistry?
    private let limits: SandboxLimits
    private let audit: (any AuditLog)?
    private let logger: Logger
    private var loaded: [String: Loaded] = [:]
    private var results: [String: Result] = [:]
    private var refusals: [String: String] = [:]

    public init(projectRoot: URL, catalogDirectory: URL, pluginsFolder: URL, environment: RuntimeEnvironment, directory: PluginDirectory,
                egress: EndpointRegistry?, limits: SandboxLimits, audit: (any AuditLog)?, logger: Logger) {
        self.projectRoot = projectRoot
        self.catalogDirectory = catalogDirectory
        self.pluginsFolder = pluginsFolder
        self.environment = environment
        self.directory = directory
        self.egress = egress
        self.limits = limits
        self.audit = audit
        self.logger = logger
    }

    /// What start-up loaded: the baseline later changes are compared with.
    public func started(with catalog: Catalog, refusals: [String: String]) {
        for manifest in catalog.entries where manifest.kind != .flow && refusals[manifest.id] == nil {
            guard let hash = catalog.hashes[manifest.id] else { continue }
            loaded[manifest.id] = Loaded(spec: Self.spec(manifest, catalog: catalog), sha256: hash.sha256, manifestSHA256: manifest.contentSHA256)
        }
        self.refusals = refusals
    }

    /// The versions serving, the last reload result of each entry, and what is refused.
    public func status() -> (loaded: [Loaded], results: [String: Result], refusals: [String: String]) {
        (loaded.values.sorted { $0.spec.id < $1.spec.id }, results, refusals)
    }

    public static func spec(_ manifest: Manifest, catalog: Catalog) -> PluginSpec {
        PluginSpec(name: manifest.name, version: manifest.version, folder: catalog.entryURL(manifest), phiFields: Set(manifest.data.masked),
                   config: manifest.config.map { Array($0.utf8) })
    }

    /// Reacts to changed paths (a debounced batch from the watcher); returns the results of the reloads it tried.
    @discardableResult
    public func reload(changed paths: Set<String>) async -> [Result] {
        let catalog = Catalog.load(projectRoot: projectRoot, directory: catalogDirectory)
        var outcomes: [Result] = []
        for manifest in catalog.entries where manifest.kind != .flow {
            let hash = catalog.hashes[manifest.id]
            if let current = loaded[manifest.id], current.sha256 == hash?.sha256, current.manifestSHA256 == manifest.contentSHA256 { continue }
            if loaded[manifest.id] == nil, let reason = refusals[manifest.id], reason == catalog.refusal(of: manifest, in: environment) { continue }
            outcomes.append(await reload(manifest, catalog: catalog))
        }
        // A plugin folder without a catalog entry (dev, staging) reloads by folder when it serves now.
        if environment.allowsUncataloged {
            let cataloged = Set(catalog.entries.map { catalog.entryURL($0).path })
            for spec in await directory.loaded() where spec.version == nil && !cataloged.contains(spec.folder.standardizedFileURL.path) {
                let folder = spec.folder.standardizedFileURL.path
                guard paths.contains(where: { $0 == folder || $0.hasPrefix(folder + "/") }) else { continue }
                outcomes.append(await reload(spec: spec, manifest: nil, hash: try? FolderHash.of(spec.folder)))
            }
        }
        // An entry whose manifest is gone stops serving new calls.
        let ids = Set(catalog.entries.map(\.id))
        for id in loaded.keys where !ids.contains(id) {
            await directory.remove(id, reason: "its catalog entry was removed")
            egress?.update(plugin: id, policy: nil)
            loaded[id] = nil
            results[id] = Result(id: id, at: Date(), succeeded: true, message: "removed: its manifest is gone", milliseconds: 0)
            logger.notice("plugin removed: its catalog entry is gone", metadata: ["plugin": "\(id)"])
        }
        return outcomes
    }

    private func reload(_ manifest: Manifest, catalog: Catalog) async -> Result {
        if let refusal = catalog.refusal(of: manifest, in: environment) {
            return await record(Result(id: manifest.id, at: Date(), succeeded: false, message: refusal, milliseconds: 0), hash: catalog.hashes[manifest.id]?.sha256)
        }
        return await reload(spec: Self.spec(manifest, catalog: catalog), manifest: manifest, hash: catalog.hashes[manifest.id])
    }

    private func reload(spec: PluginSpec, manifest: Manifest?, hash: FolderHash?) async -> Result {
        let clock = ContinuousClock(), start = clock.now
        func elapsed() -> Int { Int((clock.now - start).components.seconds * 1000 + (clock.now - start).components.attoseconds / 1_000_000_000_000_000) }
        let report = await PluginTestRunner.run(Plugin(name: spec.id, folder: spec.folder), limits: limits, logger: logger)
        if report.failed > 0 {
            let failures = report.results.filter { $0.status == .failed }.prefix(3)
                .map { "\($0.name)\($0.location.map { " (\($0))" } ?? ""): \($0.message ?? "failed")" }
            return await record(Result(id: spec.id, at: Date(), succeeded: false,
                                       message: "\(report.failed) of \(report.results.count) tests failed: " + failures.joined(separator: "; "),
                                       milliseconds: elapsed()), hash: hash?.sha256)
        }
        let pool: PluginPool
        do {
            pool = try await directory.open(spec)
        } catch {
            return await record(Result(id: spec.id, at: Date(), succeeded: false, message: "does not load: \(error)", milliseconds: elapsed()),
                                hash: hash?.sha256)
        }
        if let manifest { egress?.update(plugin: spec.id, policy: manifest.egress) }
        await directory.install(spec, pool: pool)
        loaded[spec.id] = Loaded(spec: spec, sha256: hash?.sha256 ?? "", manifestSHA256: manifest?.contentSHA256)
        refusals[spec.id] = nil
        return await record(Result(id: spec.id, at: Date(), succeeded: true, message: "\(report.passed) tests passed; now serving",
                                   milliseconds: elapsed()), hash: hash?.sha256)
    }

    private func record(_ result: Result, hash: String?) async -> Result {
        results[result.id] = result
        if result.succeeded {
            logger.notice("plugin reloaded", metadata: ["plugin": "\(result.id)", "ms": "\(result.milliseconds)", "sha256": "\(hash ?? "-")"])
        } else {
            logger.error("plugin reload failed; the previous version keeps serving",
                         metadata: ["plugin": "\(result.id)", "reason": "\(result.message)"])
        }
        do {
            try await audit?.audit([AuditEntry(actor: "host", action: result.succeeded ? "plugin.reloaded" : "plugin.reload_failed", subject: result.id,
                                               detail: AuditDetail.object(["sha256": .string(hash ?? ""), "message": .string(result.message),
                                                                           "ms": .int(result.milliseconds)]))], at: result.at)
        } catch {
            logger.error("cannot audit a reload", metadata: ["plugin": "\(result.id)", "error": "\(error)"])
        }
        return result
    }
}
