import Foundation
import Logging
import LuaRuntime
import Store

/// One plugin the directory may load: a catalog entry (name, version, folder, the fields it marks as PHI) or, where
/// the environment allows plugins outside the catalog (dev, staging), a bare folder under `plugins/`.
public struct PluginSpec: Sendable, Equatable {
    public let name: String
    /// nil for a folder without a catalog entry.
    public let version: SemanticVersion?
    public let folder: URL
    public let phiFields: Set<String>
    /// The entry's `config:` block as a JSON object (`ctx.config` in every hook), nil when it has none.
    public let config: [UInt8]?

    public init(name: String, version: SemanticVersion?, folder: URL, phiFields: Set<String> = [], config: [UInt8]? = nil) {
        self.name = name
        self.version = version
        self.folder = folder
        self.phiFields = phiFields
        self.config = config
    }

    /// `NAME@VERSION`, or the bare name: what logs, errors, metrics and the egress lists know the plugin by.
    public var id: String { version.map { "\(name)@\($0)" } ?? name }
}

public enum PluginDirectoryError: Error, CustomStringConvertible {
    case refused(plugin: String, reason: String)
    case noVersion(reference: String, available: [String])
    case unknown(String)

    public var description: String {
        switch self {
        case .refused(let plugin, let reason): return "plugin \(plugin) is not loaded here: \(reason)"
        case .noVersion(let reference, let available):
            return "no loaded version satisfies \(reference) (loaded: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        case .unknown(let name): return "plugin '\(name)' is not in the catalog"
        }
    }
}

/// The plugins workers call, one pool of states per plugin version. A flow names a plugin by reference (`NAME` or
/// `NAME@RANGE`); the directory resolves it to the highest version it holds that satisfies it, so two versions can
/// serve side by side. Pools load on first use; a hot reload swaps one in with `install`, and invocations already
/// running finish on the pool they started on (they hold it).
public actor PluginDirectory {
    private let fallbackFolder: URL?
    private let limits: SandboxLimits
    private let statesPerPlugin: Int
    private let logger: Logger
    private let http: (any HTTPGateway)?
    private let ledger: (any PluginLedger)?
    private let audit: (any AuditLog)?
    /// The server's environment, which every hook sees as `ctx.env`.
    private let environment: String?
    private var specs: [String: [PluginSpec]] = [:]
    private var refusals: [String: String] = [:]
    private var pools: [String: PluginPool] = [:]
    private var loading: [String: Task<PluginPool, any Error>] = [:]
    private var resolved: [String: PluginSpec] = [:]

    /// `specs`: the catalog entries this environment may run. `fallbackFolder`: where a name without an entry is
    /// looked up as a bare folder (nil: only catalog entries load, as in production). `refusals`: entries kept out on
    /// purpose, by id, with the reason a caller is told. `audit`: where each load is recorded.
    public init(specs: [PluginSpec], fallbackFolder: URL?, refusals: [String: String] = [:], limits: SandboxLimits,
                statesPerPlugin: Int = 2, http: (any HTTPGateway)? = nil, audit: (any AuditLog)? = nil,
                ledger: (any PluginLedger)? = nil, environment: String? = nil, logger: Logger) {
        self.ledger = ledger
        self.environment = environment
        self.fallbackFolder = fallbackFolder
        self.limits = limits
        self.statesPerPlugin = statesPerPlugin
        self.http = http
        self.audit = audit
        self.logger = logger
        for spec in specs { self.specs[spec.name, default: []].append(spec) }
        self.refusals = refusals
    }

    /// Every plugin of `folder` by its folder name, with PHI fields by name: the directory of a project without a catalog.
    public init(folder: URL, limits: SandboxLimits, statesPerPlugin: Int = 2, http: (any HTTPGateway)? = nil,
                phiFields: [String: Set<String>] = [:], audit: (any AuditLog)? = nil, logger: Logger) {
        let specs = phiFields.map { PluginSpec(name: $0.key, version: nil, folder: folder.appendingPathComponent($0.key), phiFields: $0.value) }
        self.init(specs: specs, fallbackFolder: folder, limits: limits, statesPerPlugin: statesPerPlugin, http: http, audit: audit, logger: logger)
    }

    /// Loads every referenced plugin that is not loaded yet; returns what failed, by reference, with the reason (a load
    /// that failed is tried again on the next call and on first use).
    public func load(_ references: [String]) async -> [(plugin: String, error: String)] {
        var failures: [(plugin: String, error: String)] = []
        for reference in Set(references).sorted() {
            do { _ = try await pool(reference) } catch { failures.append((reference, "\(error)")) }
        }
        return failures
    }

    /// The pool for a reference: the highest version held that satisfies it.
    public func pool(_ reference: String) async throws -> PluginPool {
        let spec = try resolve(reference)
        if let pool = pools[spec.id] { return pool }
        if let task = loading[spec.id] { return try await task.value }
        let task = Task { try await self.open(spec) }
        loading[spec.id] = task
        defer { loading[spec.id] = nil }
        let pool = try await task.value
        pools[spec.id] = pool
        try? await audit?.audit([AuditEntry(actor: "host", action: "plugin.loaded", subject: spec.id,
                                            detail: AuditDetail.object(["states": .int(statesPerPlugin), "folder": .string(spec.folder.path)]))],
                                at: Date())
        return pool
    }

    /// Loads a spec's states without installing them (a hot reload loads, tests, then installs).
    public func open(_ spec: PluginSpec) async throws -> PluginPool {
        let plugin = try Plugin.locate(spec.folder.path, pluginsDirectory: spec.folder.deletingLastPathComponent())
        return try await PluginPool.load(Plugin(name: spec.id, folder: plugin.folder), states: statesPerPlugin, limits: limits,
                                         logger: logger, http: http, phiFields: spec.phiFields,
                                         config: spec.config, environment: environment, ledger: ledger)
    }

    /// Makes `pool` the one that serves `spec` from the next invocation on (calls already running finish on the old).
    public func install(_ spec: PluginSpec, pool: PluginPool) {
        var versions = specs[spec.name] ?? []
        versions.removeAll { $0.id == spec.id }
        versions.append(spec)
        specs[spec.name] = versions
        refusals[spec.id] = nil
        pools[spec.id] = pool
        resolved.removeAll()
    }

    /// Takes a version out of service (its manifest was removed or it is refused now); new calls no longer reach it.
    public func remove(_ id: String, reason: String?) {
        for (name, versions) in specs { specs[name] = versions.filter { $0.id != id } }
        pools[id] = nil
        if let reason { refusals[id] = reason }
        resolved.removeAll()
    }

    /// The versions loaded now, by id.
    public func loaded() -> [PluginSpec] {
        specs.values.flatMap { $0 }.filter { pools[$0.id] != nil }.sorted { $0.id < $1.id }
    }

    private func resolve(_ reference: String) throws -> PluginSpec {
        if let spec = resolved[reference] { return spec }
        guard let parsed = PluginReference(reference) else { throw PluginDirectoryError.unknown(reference) }
        let candidates = (specs[parsed.name] ?? []).filter { spec in
            guard let version = spec.version else { return parsed.requirement == .any }
            return parsed.requirement.matches(version)
        }
        let spec: PluginSpec
        if let best = candidates.max(by: { ($0.version ?? SemanticVersion(0, 0, 0)) < ($1.version ?? SemanticVersion(0, 0, 0)) }) {
            spec = best
        } else if let refusal = refusals.first(where: { $0.key == parsed.name || $0.key.hasPrefix(parsed.name + "@") }) {
            throw PluginDirectoryError.refused(plugin: refusal.key, reason: refusal.value)
        } else if let versions = specs[parsed.name], !versions.isEmpty {
            throw PluginDirectoryError.noVersion(reference: reference, available: versions.map(\.id).sorted())
        } else if let fallbackFolder, parsed.requirement == .any {
            spec = PluginSpec(name: parsed.name, version: nil, folder: fallbackFolder.appendingPathComponent(parsed.name))
        } else {
            throw PluginDirectoryError.unknown(parsed.name)
        }
        resolved[reference] = spec
        return spec
    }
}
