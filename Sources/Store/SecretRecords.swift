import Foundation

/// Where encrypted secrets live: sealed bytes by name and version. The store never sees a plaintext value; sealing
/// and opening happen in the Secrets target with the master key.
public protocol SecretRecords: Sendable {
    /// Stores a new version of `name` (1 for a new name) and returns it.
    func put(name: String, sealed: [UInt8], now: Date) async throws -> Int
    /// The newest version of `name`, or nil.
    func current(name: String) async throws -> (version: Int, sealed: [UInt8])?
    /// Names with their newest version and dates — never values.
    func list() async throws -> [SecretInfo]
    /// Deletes every version of `name`; false when there was none.
    func delete(name: String) async throws -> Bool
    /// Records that the host read `name` (shown by `conflux secrets list`).
    func markUsed(name: String, now: Date) async throws
}

public struct SecretInfo: Sendable, Equatable {
    public var name: String
    public var version: Int
    public var createdAt: Date
    public var lastUsedAt: Date?

    public init(name: String, version: Int, createdAt: Date, lastUsedAt: Date?) {
        self.name = name
        self.version = version
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}
