import Foundation
import HTTPTransport
import Synchronization

/// Every plugin's endpoints, one per rule of its egress list, made from the policies at start-up and replaced per
/// plugin when a hot reload changes its manifest (an unchanged rule keeps its endpoint: circuit state and counters).
/// Finding a request's endpoint takes one uncontended lock.
public final class EndpointRegistry: Sendable {
    /// A plugin's policy and its endpoints, parallel to `policy.rules`.
    struct PluginEgress: Sendable {
        let policy: EgressPolicy
        let endpoints: [Endpoint]
    }

    private let state: Mutex<[String: PluginEgress]>
    /// The clock of every circuit and bucket here.
    let now: @Sendable () -> ContinuousClock.Instant

    init(policies: [String: EgressPolicy], now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
        let now = now()
        var byPlugin: [String: PluginEgress] = [:]
        for (plugin, policy) in policies {
            byPlugin[plugin] = PluginEgress(policy: policy, endpoints: policy.rules.map { Endpoint(plugin: plugin, rule: $0, now: now) })
        }
        self.state = Mutex(byPlugin)
    }

    /// Installs (or, with nil, removes) a plugin's policy; endpoints of rules that did not change are kept.
    public func update(plugin: String, policy: EgressPolicy?) {
        let now = now()
        state.withLock { byPlugin in
            guard let policy else { byPlugin[plugin] = nil; return }
            let old = byPlugin[plugin]
            let endpoints = policy.rules.map { rule in
                old.flatMap { egress in egress.policy.rules.firstIndex(of: rule).map { egress.endpoints[$0] } } ?? Endpoint(plugin: plugin, rule: rule, now: now)
            }
            byPlugin[plugin] = PluginEgress(policy: policy, endpoints: endpoints)
        }
    }

    /// The plugin's policy (`.none` for a plugin without a manifest).
    func policy(_ plugin: String) -> EgressPolicy { state.withLock { $0[plugin]?.policy } ?? .none }

    /// The rule `url` matches in the plugin's egress list and its endpoint; nil when the list does not allow it.
    func match(plugin: String, url: HTTPURL) -> (rule: EgressRule, endpoint: Endpoint)? {
        guard let egress = state.withLock({ $0[plugin] }), let index = egress.policy.ruleIndex(for: url) else { return nil }
        return (egress.policy.rules[index], egress.endpoints[index])
    }

    /// Every endpoint now, ordered by plugin then origin.
    public func snapshots() -> [EndpointSnapshot] {
        let now = now(), wallClock = Date()
        let byPlugin = state.withLock { $0 }
        return byPlugin.keys.sorted().flatMap { plugin in
            byPlugin[plugin]!.endpoints.sorted { $0.origin < $1.origin }.map { $0.snapshot(now: now, wallClock: wallClock) }
        }
    }
}
