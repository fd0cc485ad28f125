/// Where a message stands in the queue. The transitions are the only ones the store performs:
///
///     ready ──lease──▶ leased ──complete──▶ done
///       ▲                │ ├──retry (later)──▶ ready
///       │                │ └──dead-letter───▶ dead ──replay──▶ ready
///       └──lease expired─┘
public enum MessageStatus: String, Sendable, Codable, CaseIterable {
    case ready, leased, done, dead
}
