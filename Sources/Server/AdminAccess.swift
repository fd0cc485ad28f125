import Foundation
import Hummingbird
import Store

/// Who may call which admin route. Tokens carry a role (see `AdminRole`); once any token is active — and always in
/// production — every admin call needs `Authorization: Bearer cfx_…`, answered 401 without a valid one and 403 when
/// the role does not allow the call. Without tokens (a developer's own machine) the API is open on the address the
/// server listens on (127.0.0.1 by default).
public struct AdminAccess: Sendable {
    let tokens: (any AdminTokens)?
    let requireTokens: Bool

    public init(tokens: (any AdminTokens)?, requireTokens: Bool) {
        self.tokens = tokens
        self.requireTokens = requireTokens
    }

    public static let open = AdminAccess(tokens: nil, requireTokens: false)

    /// The caller, nil when the API is open; or the response refusing the call.
    func authorize(_ request: Request, roles: Set<AdminRole>, action: String) async -> Result<AdminPrincipal?, AccessDenied> {
        let required: Bool
        do {
            let active = try await tokens?.anyActive() ?? false
            required = requireTokens || active
        } catch {
            return .failure(AccessDenied(response: ErrorBody.response(status: .serviceUnavailable, code: "store_unavailable", message: "\(error)")))
        }
        guard required else { return .success(nil) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
              let tokens, let principal = try? await tokens.authenticate(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            return .failure(AccessDenied(response: ErrorBody.response(
                status: .unauthorized, code: "unauthorized",
                message: "send Authorization: Bearer <token> (issue one with `conflux tokens create --role …`)",
                headers: [.wwwAuthenticate: "Bearer"])))
        }
        guard roles.contains(principal.role) else {
            let allowed = roles.map(\.rawValue).sorted().joined(separator: " or ")
            return .failure(AccessDenied(response: ErrorBody.response(
                status: .forbidden, code: "forbidden", message: "a \(principal.role.rawValue) token cannot \(action) (needs \(allowed))")))
        }
        return .success(principal)
    }

    struct AccessDenied: Error { let response: Response }

    /// Authorizes the call, runs it, and leaves an `admin.request` audit record naming the caller (the token's holder
    /// and role) and the status answered — refusals included.
    func guarded(_ request: Request, roles: Set<AdminRole>, action: String, audit: (any AuditLog)?,
                 _ handle: (AdminPrincipal?) async -> Response) async -> Response {
        let response: Response
        var actor = "admin-api"
        switch await authorize(request, roles: roles, action: action) {
        case .failure(let denied): response = denied.response
        case .success(let principal):
            if let principal { actor = "\(principal.name) (\(principal.role.rawValue) token \(principal.tokenId))" }
            response = await handle(principal)
        }
        try? await audit?.audit([AuditEntry(actor: actor, action: "admin.request", subject: "\(request.method.rawValue) \(request.uri.path)",
                                            detail: AuditDetail.object(["status": .int(response.status.code)]))], at: Date())
        return response
    }
}
