import Foundation
import LuaRuntime
import Store

/// Messages as JSON for the CLI and the admin API (bodies summarised in listings, shown in details).
public enum MessageJSON {
    public static func summary(_ message: StoredMessage) -> String {
        JSONText.object(fields(message))
    }

    public static func detail(_ message: StoredMessage, attempts: [AttemptRecord]) -> String {
        let history = attempts.map { attempt in
            JSONText.object([
                ("number", String(attempt.number)), ("outcome", JSONText.string(attempt.outcome.rawValue)),
                ("started_at", JSONText.string(ISO8601DateFormatter().string(from: attempt.startedAt))),
                ("finished_at", JSONText.string(ISO8601DateFormatter().string(from: attempt.finishedAt))),
                ("error_kind", attempt.errorKind.map(JSONText.string) ?? "null"),
                ("error_message", attempt.errorMessage.map(JSONText.string) ?? "null"),
            ])
        }
        return JSONText.object(fields(message) + [
            ("headers", JSONText.object(message.headers.sorted { $0.key < $1.key }.map { ($0.key, JSONText.string($0.value)) })),
            ("body", JSONText.string(String(decoding: message.body, as: UTF8.self))),
            ("attempt_history", "[" + history.joined(separator: ",") + "]"),
        ])
    }

    private static func fields(_ message: StoredMessage) -> [(String, String)] {
        [
            ("id", JSONText.string(message.id)), ("sequence", String(message.sequence)), ("source", JSONText.string(message.source)),
            ("status", JSONText.string(message.status.rawValue)), ("attempts", String(message.attempts)),
            ("correlation_id", JSONText.string(message.correlationId)),
            ("idempotency_key", message.idempotencyKey.map(JSONText.string) ?? "null"),
            ("ordering_key", message.orderingKey.map(JSONText.string) ?? "null"),
            ("content_type", JSONText.string(message.contentType)), ("body_bytes", String(message.body.count)),
            ("accepted_at", JSONText.string(ISO8601DateFormatter().string(from: message.acceptedAt))),
            ("last_error", message.lastError.map(JSONText.string) ?? "null"),
        ]
    }
}
