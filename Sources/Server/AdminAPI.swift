import Foundation
import Hummingbird
import LuaRuntime
import Store

/// The operator's API over the queue (JSON): the same operations as `conflux messages` and `conflux dlq`.
/// Messages carry partners' payloads (PHI), so only operator tokens reach them once tokens are in use (AdminAccess).
struct AdminAPI: Sendable {
    let store: any MessageStore
    var access: AdminAccess = .open

    func register(on router: Router<BasicRequestContext>) {
        router.get("api/messages") { request, _ in
            await self.audited(request) {
                await self.list(request, status: request.uri.queryParameters.get("status").flatMap(MessageStatus.init(rawValue:)))
            }
        }
        router.get("api/messages/:id") { request, context in
            await self.audited(request) { await self.show(context.parameters.get("id") ?? "", deadOnly: false) }
        }
        router.get("api/dlq") { request, _ in await self.audited(request) { await self.list(request, status: .dead) } }
        router.get("api/dlq/:id") { request, context in
            await self.audited(request) { await self.show(context.parameters.get("id") ?? "", deadOnly: true) }
        }
        router.post("api/dlq/replay") { request, _ in
            await self.audited(request) { await self.act(request) { try await self.store.replay(ids: $0, now: Date()) } }
        }
        router.post("api/dlq/purge") { request, _ in
            await self.audited(request) { await self.act(request) { try await self.store.purge(ids: $0) } }
        }
    }

    /// Every admin call leaves an audit record (method, path, status); the changes it made are recorded by the store
    /// in their own transactions.
    private func audited(_ request: Request, _ handle: () async -> Response) async -> Response {
        await access.guarded(request, roles: [.operator], action: "read or change the queue", audit: store as? any AuditLog) { _ in await handle() }
    }

    private func list(_ request: Request, status: MessageStatus?) async -> Response {
        let query = request.uri.queryParameters
        let filter = MessageFilter(status: status, source: query.get("source"),
                                   afterSequence: query.get("after").flatMap(Int64.init),
                                   limit: min(query.get("limit").flatMap(Int.init) ?? 100, 1000))
        do {
            let messages = try await store.list(filter)
            return ErrorBody.json(.ok, #"{"messages":["# + messages.map(MessageJSON.summary).joined(separator: ",") + "]}")
        } catch {
            return ErrorBody.response(status: .serviceUnavailable, code: "store_unavailable", message: "\(error)", headers: [.retryAfter: "5"])
        }
    }

    private func show(_ id: String, deadOnly: Bool) async -> Response {
        do {
            guard let message = try await store.message(id: id), !deadOnly || message.status == .dead else {
                return ErrorBody.response(status: .notFound, code: "not_found", message: deadOnly ? "no dead letter \(id)" : "no message \(id)")
            }
            return ErrorBody.json(.ok, MessageJSON.detail(message, attempts: try await store.attempts(id: id)))
        } catch {
            return ErrorBody.response(status: .serviceUnavailable, code: "store_unavailable", message: "\(error)", headers: [.retryAfter: "5"])
        }
    }

    /// Body `{"ids":[…]}` or `{"all":true}` or `{"source":"…"}` (every dead letter of that source).
    private func act(_ request: Request, _ operation: @Sendable ([String]) async throws -> [String]) async -> Response {
        var request = request
        guard let body = try? await request.collectBody(upTo: 1 << 20),
              let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] else {
            return ErrorBody.response(status: .badRequest, code: "malformed_body", message: #"send {"ids":[…]}, {"all":true} or {"source":"…"}"#)
        }
        do {
            let ids: [String]
            if let given = object["ids"] as? [String] {
                ids = given
            } else if object["all"] as? Bool == true || object["source"] is String {
                ids = try await store.list(MessageFilter(status: .dead, source: object["source"] as? String, limit: Int.max)).map(\.id)
            } else {
                return ErrorBody.response(status: .badRequest, code: "malformed_body", message: #"send {"ids":[…]}, {"all":true} or {"source":"…"}"#)
            }
            let done = try await operation(ids)
            return ErrorBody.json(.ok, JSONText.object([
                ("done", "[" + done.map(JSONText.string).joined(separator: ",") + "]"),
                ("not_dead_letters", "[" + Set(ids).subtracting(done).sorted().map(JSONText.string).joined(separator: ",") + "]"),
            ]))
        } catch {
            return ErrorBody.response(status: .serviceUnavailable, code: "store_unavailable", message: "\(error)", headers: [.retryAfter: "5"])
        }
    }
}
