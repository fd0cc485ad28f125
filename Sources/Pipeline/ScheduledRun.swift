import Foundation
import Store

/// One due run of a flow's schedule, as it travels through the queue: a message of the flow's source marked with the
/// host-only header `x-conflux-schedule` (ingress never keeps `x-conflux-*` headers from a sender), whose idempotency
/// key is the schedule and its due time — so a due time is enqueued once, whatever the restarts or nodes.
public struct ScheduledRun: Sendable, Equatable, Codable {
    public static let contentType = "application/json"
    public static let headerPrefix = "x-conflux-"
    public static let header = "x-conflux-schedule"

    public var flow: String
    public var schedule: String
    public var plugin: String
    public var hook: String
    /// The due time, ISO 8601 UTC with seconds.
    public var due: String

    public init(flow: FlowDefinition, schedule: FlowDefinition.Schedule, due: Date) {
        self.flow = flow.name
        self.schedule = schedule.name
        self.plugin = schedule.plugin
        self.hook = schedule.hook
        self.due = due.formatted(.iso8601)
    }

    public func message(source: String, id: String = "msg_" + UUID().uuidString.lowercased(), now: Date) -> NewMessage {
        let body = (try? JSONEncoder.sorted.encode(self)).map(Array.init) ?? []
        return NewMessage(id: id, source: source, idempotencyKey: "schedule:\(schedule):\(due)", correlationId: id,
                          contentType: Self.contentType, body: body, headers: [Self.header: schedule], acceptedAt: now)
    }

    /// The run a stored message carries, if it is one (the header is set only by the host).
    public static func of(_ message: StoredMessage) -> ScheduledRun? {
        guard message.headers[header] != nil else { return nil }
        return try? JSONDecoder().decode(ScheduledRun.self, from: Data(message.body))
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
