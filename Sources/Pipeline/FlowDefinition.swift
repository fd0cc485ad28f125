import Foundation

/// A flow: which source plugin accepts a partner's messages, and for each event type the mappings and the connector
/// that carry it to its target. Declared in `catalog/flows/NAME.yaml` so the governance board reads what runs.
public struct FlowDefinition: Sendable, Equatable {
    public struct Source: Sendable, Equatable {
        /// The source plugin; also the ingest path `POST /ingest/{plugin}`.
        public var plugin: String
        /// Content types accepted at ingress (exact media types, parameters ignored).
        public var contentTypes: [String]
        public var maxBodyBytes: Int
        /// Headers whose value is the sender's idempotency key (`Idempotency-Key` is always honoured first).
        public var idempotencyHeaders: [String]
        /// JSON pointer (RFC 6901) into a JSON body whose value orders messages (e.g. `/appointment/id`).
        public var orderingKey: String?
        /// How the partner proves a webhook is theirs; nil accepts any sender (development, a private network).
        public var auth: Auth? = nil
        /// Which versions of the source plugin the flow accepts (`source.plugin: NAME@RANGE`).
        public var requirement: VersionRequirement = .any

        /// The source plugin as the flow names it, for the plugin directory.
        public var reference: String { PluginReference(name: plugin, requirement: requirement).description }
    }

    /// Webhook authentication of a source: a scheme and the names of the secrets (in the vault) it checks against —
    /// several during a rotation.
    public struct Auth: Sendable, Equatable {
        public enum Scheme: String, Sendable, Equatable, CaseIterable {
            case standardWebhooks = "standard-webhooks", stripe, bearer, twilio, sendgrid
        }
        public var scheme: Scheme
        public var secrets: [String]
        public var toleranceSeconds: Int
        /// twilio: the URL the partner was given for this source (it is part of what is signed), without the query.
        public var publicURL: String? = nil
    }

    /// `mappings` and `connector` are plugin references: `NAME` or `NAME@RANGE`.
    public struct Route: Sendable, Equatable {
        public var event: String
        public var mappings: [String]
        public var connector: String
    }

    /// Scheduled work (batch sync, reconciliation): at each time the cron expression names, a run is enqueued in
    /// the flow's queue — durable, retried and dead-lettered like any message, and enqueued once per due time even
    /// with several nodes (the due time is its idempotency key). The run calls `hook` of `plugin` (the flow's source
    /// or one of its mappings or connectors); the events it returns are routed like decoded ones.
    public struct Schedule: Sendable, Equatable {
        public var name: String
        public var cron: CronSchedule
        public var plugin: String
        public var hook: String
    }

    public struct RetryPolicy: Sendable, Equatable {
        public var maxAttempts: Int
        public var baseDelayMilliseconds: Int
        public var maxDelayMilliseconds: Int
        /// Give up (dead-letter) when the message is older than this, whatever the attempts.
        public var maxAgeSeconds: Int

        public static let standard = RetryPolicy(maxAttempts: 8, baseDelayMilliseconds: 500, maxDelayMilliseconds: 60_000,
                                                 maxAgeSeconds: 86_400)
    }

    public var name: String
    public var description: String
    public var source: Source
    public var routes: [Route]
    public var schedules: [Schedule] = []
    /// At most this many of the flow's messages in flight at once (its bulkhead).
    public var concurrency: Int
    public var retry: RetryPolicy
    /// Where the definition came from, for messages.
    public var file: String

    /// Every plugin the flow runs: its source, the routes' mappings and connectors.
    public var plugins: [String] {
        var names = [source.reference]
        for route in routes { names += route.mappings + [route.connector] }
        return names
    }
}
