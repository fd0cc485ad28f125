import Foundation
import Hummingbird
import LuaRuntime
import Store

/// What the catalog routes do, supplied by the host (the Server knows nothing of manifests): JSON in and out.
public struct CatalogHandlers: Sendable {
    /// `{"environment":…, "plugins":[{id, sha256, last_reload}], "refused":[{id, reason}]}`.
    public var status: @Sendable () async -> String
    /// Every entry: `{"entries":[…]}`.
    public var entries: @Sendable () async -> String
    /// Applies a lifecycle action (`submit`, `approve`, …) to `NAME@VERSION` for `by`; the answer's status and JSON body.
    public var transition: @Sendable (_ action: String, _ id: String, _ by: String, _ reason: String) async -> (status: Int, body: String)
    /// Writes a file of a plugin's folder (hot reload picks it up); nil where plugins are not edited (production).
    public var writePluginFile: (@Sendable (_ id: String, _ path: String, _ bytes: [UInt8]) async -> (status: Int, body: String))?

    public init(status: @escaping @Sendable () async -> String, entries: @escaping @Sendable () async -> String,
                transition: @escaping @Sendable (String, String, String, String) async -> (status: Int, body: String),
                writePluginFile: (@Sendable (String, String, [UInt8]) async -> (status: Int, body: String))?) {
        self.status = status
        self.entries = entries
        self.transition = transition
        self.writePluginFile = writePluginFile
    }
}

/// `GET /api/catalog/status`, `GET /api/catalog/entries`, `POST /api/catalog/entries/{id}/{action}` with
/// `{"reason":"…"}`, `PUT /api/plugins/{id}/files/{path}`. The decider is the token's holder; with the API open (no
/// tokens), the body must name them: `{"by":"…","reason":"…"}`.
struct CatalogAPI: Sendable {
    let handlers: CatalogHandlers
    let access: AdminAccess
    let audit: (any AuditLog)?

    static let actionRoles: [String: Set<AdminRole>] = [
        "submit": [.developer], "approve": [.reviewer], "reject": [.reviewer], "deprecate": [.reviewer, .operator], "retire": [.operator],
    ]

    func register(on router: Router<BasicRequestContext>) {
        router.get("api/catalog/status") { request, _ in
            await self.guarded(request, roles: Set(AdminRole.allCases), action: "read the catalog") { _ in
                ErrorBody.json(.ok, await self.handlers.status())
            }
        }
        router.get("api/catalog/entries") { request, _ in
            await self.guarded(request, roles: Set(AdminRole.allCases), action: "read the catalog") { _ in
                ErrorBody.json(.ok, await self.handlers.entries())
            }
        }
        router.post("api/catalog/entries/:id/:action") { request, context in
            let action = context.parameters.get("action") ?? ""
            let id = context.parameters.get("id") ?? ""
            guard let roles = Self.actionRoles[action] else {
                return ErrorBody.response(status: .notFound, code: "unknown_action",
                                          message: "unknown action '\(action)' (expected \(Self.actionRoles.keys.sorted().joined(separator: ", ")))")
            }
            return await self.guarded(request, roles: roles, action: action) { principal in
                var request = request
                guard let body = try? await request.collectBody(upTo: 64 << 10),
                      let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any],
                      let reason = object["reason"] as? String else {
                    return ErrorBody.response(status: .badRequest, code: "malformed_body", message: #"send {"reason":"…"}"#)
                }
                guard let by = principal?.name ?? (object["by"] as? String) else {
                    return ErrorBody.response(status: .badRequest, code: "malformed_body", message: #"without tokens, send {"by":"…","reason":"…"}"#)
                }
                let (status, text) = await self.handlers.transition(action, id, by, reason)
                return ErrorBody.json(.init(code: status), text)
            }
        }
        router.put("api/plugins/:id/files/**") { request, context in
            let id = context.parameters.get("id") ?? ""
            let path = context.parameters.getCatchAll().joined(separator: "/")
            return await self.guarded(request, roles: [.developer], action: "edit plugins") { _ in
                guard let write = self.handlers.writePluginFile else {
                    return ErrorBody.response(status: .forbidden, code: "read_only",
                                              message: "plugins are not edited here: production runs only approved code")
                }
                var request = request
                guard let body = try? await request.collectBody(upTo: 1 << 20) else {
                    return ErrorBody.response(status: .contentTooLarge, code: "too_large", message: "a plugin file may be at most 1 MiB")
                }
                let (status, text) = await write(id, path, Array(buffer: body))
                return ErrorBody.json(.init(code: status), text)
            }
        }
    }

    private func guarded(_ request: Request, roles: Set<AdminRole>, action: String,
                         _ handle: (AdminPrincipal?) async -> Response) async -> Response {
        await access.guarded(request, roles: roles, action: action, audit: audit, handle)
    }
}
