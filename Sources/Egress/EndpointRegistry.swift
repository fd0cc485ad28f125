import Foundation
import HTTPTransport

/// Every plugin's endpoints, one per rule of its egress list, made once at start-up from the policies (the egress
/// lists do not change while the server runs), so finding a request's endpoint takes no lock.
public final class EndpointRegistry: Sendable {
    /// A plugin's policy and its endpoints, parallel to `policy.rules`.
    struct PluginEgress: Sendable {
        let policy: EgressPolicy
        let endpoints: [Endpoint]
    }

    private let byPlugin: [String: PluginEgress]
    /// The clock of every circuit and bucket here.
    let now: @Sendable () -> ContinuousClock.Instant

    init(policies: [String: EgressPolicy], now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
        let now = now()
        var byPlugin: [String: PluginEgress] = [:]
        for (plugin, policy) in policies {
            byPlugin[plugin] = PluginEgress(policy: policy, endpoints: policy.rules.map { Endpoint(plugin: plugin, rule: $0, now: now) })
        }
        self.byPlugin = byPlugin
    }

    /// The plugin's policy (`.none` for a plugin without a manifest).
    func policy(_ plugin: String) -> EgressPolicy { byPlugin[plugin]?.policy ?? .none }

    /// The rule `url` matches in the plugin's egress list and its endpoint; nil when the list does not allow it.
    func match(plugin: String, url: HTTPURL) -> (rule: EgressRule, endpoint: Endpoint)? {
        guard let egress = byPlugin[plugin], let index = egress.policy.ruleIndex(for: url) else { return nil }
        return (egress.policy.rules[index], egress.endpoints[index])
    }

    /// Every endpoint now, ordered by plugin then origin.
    public func snapshots() -> [EndpointSnapshot] {
        let now = now(), wallClock = Date()
        return byPlugin.keys.sorted().flatMap { plugin in
            byPlugin[plugin]!.endpoints.sorted { $0.origin < $1.origin }.map { $0.snapshot(now: now, wallClock: wallClock) }
        }
    }
}
