import Foundation

/// What an admin API token may do. A developer submits entries and edits plugins (outside production); a reviewer
/// approves, rejects and deprecates; an operator runs the queue (messages, dead letters) and retires entries.
/// Every role reads the catalog.
public enum AdminRole: String, Sendable, CaseIterable {
    case developer, reviewer, `operator`
}

/// Who is calling the admin API: the token's name (the person or system it was issued to) and its role.
public struct AdminPrincipal: Sendable, Equatable {
    public let tokenId: String
    public let name: String
    public let role: AdminRole

    public init(tokenId: String, name: String, role: AdminRole) {
        self.tokenId = tokenId
        self.name = name
        self.role = role
    }
}

public struct AdminTokenInfo: Sendable, Equatable {
    public let id: String
    public let name: String
    public let role: AdminRole
    public let createdAt: Date
    public let revokedAt: Date?

    public init(id: String, name: String, role: AdminRole, createdAt: Date, revokedAt: Date?) {
        (self.id, self.name, self.role, self.createdAt, self.revokedAt) = (id, name, role, createdAt, revokedAt)
    }
}

/// Issued admin tokens. A token is `cfx_ID_SECRET`; only sha256(token) is stored.
public protocol AdminTokens: Sendable {
    /// Issues a token and returns it (the only time it is visible).
    func issue(name: String, role: AdminRole, now: Date) async throws -> (info: AdminTokenInfo, token: String)
    /// The principal for a presented token, or nil (unknown, revoked, or wrong secret).
    func authenticate(_ token: String) async throws -> AdminPrincipal?
    func list() async throws -> [AdminTokenInfo]
    /// Whether a token with that id was found and revoked.
    func revoke(id: String, now: Date) async throws -> Bool
    /// Whether any token is active: once one is, every admin call needs one.
    func anyActive() async throws -> Bool
}
