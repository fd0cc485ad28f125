import Crypto
import Foundation
import Store
import Synchronization

/// Secrets at rest, sealed with AES-GCM under the master key; each ciphertext is bound to its name and version
/// (associated data), so a sealed value copied to another name or version does not open.
///
/// Values leave the vault only through `reveal`, which the host transport calls at send time. Nothing here logs,
/// describes or stores a plaintext value; `description` shows names only.
public final class SecretVault: Sendable, CustomStringConvertible {
    private let records: any SecretRecords
    private let key: MasterKey
    /// Opened values by name and version, so a busy connector does not decrypt per request; cleared on rotation.
    private let cache = Mutex<[String: (version: Int, value: [UInt8])]>([:])

    static var namePattern: Regex<Substring> { /[a-z0-9][a-z0-9_.-]*(?:\/[a-z0-9][a-z0-9_.-]*)*/ }
    public static let maxValueBytes = 64 * 1024

    public init(records: any SecretRecords, key: MasterKey) {
        self.records = records
        self.key = key
    }

    public var description: String { "SecretVault(values redacted)" }

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public static func checkName(_ name: String) throws(Problem) {
        guard name.count <= 128, name.wholeMatch(of: namePattern) != nil else {
            throw Problem(description: "secret name '\(name)' must be lower-case letters, digits, '_', '.', '-', in '/'-separated parts (like odoo/api_key)")
        }
    }

    /// Stores `value` as the next version of `name`; returns the version.
    @discardableResult
    public func set(_ name: String, value: [UInt8], now: Date = Date()) async throws -> Int {
        try Self.checkName(name)
        guard !value.isEmpty, value.count <= Self.maxValueBytes else {
            throw Problem(description: "the value of \(name) must be 1 to \(Self.maxValueBytes) bytes, got \(value.count)")
        }
        let version = (try await records.current(name: name)?.version ?? 0) + 1
        let stored = try await records.put(name: name, sealed: try seal(value, name: name, version: version), now: now)
        guard stored == version else {
            // Another writer took the version first: the sealed value is bound to the wrong version; refuse rather
            // than store a value that would not open.
            _ = try? await records.delete(name: name)
            throw Problem(description: "\(name) was written concurrently; set it again")
        }
        cache.withLock { $0[name] = nil }
        return version
    }

    /// The current value of `name`, for the transport at send time.
    public func reveal(_ name: String, now: Date = Date()) async throws -> [UInt8] {
        guard let (version, sealed) = try await records.current(name: name) else {
            throw Problem(description: "no secret named \(name) (set it with `conflux secrets set \(name)`)")
        }
        if let cached = cache.withLock({ $0[name] }), cached.version == version { return cached.value }
        let value = try open(sealed, name: name, version: version)
        cache.withLock { $0[name] = (version, value) }
        try? await records.markUsed(name: name, now: now)
        return value
    }

    public func list() async throws -> [SecretInfo] { try await records.list() }

    public func delete(_ name: String) async throws -> Bool {
        cache.withLock { $0[name] = nil }
        return try await records.delete(name: name)
    }

    private func associatedData(_ name: String, _ version: Int) -> Data { Data("conflux-secret:\(name):\(version)".utf8) }

    func seal(_ value: [UInt8], name: String, version: Int) throws -> [UInt8] {
        let box = try AES.GCM.seal(value, using: key.key, authenticating: associatedData(name, version))
        guard let combined = box.combined else { throw Problem(description: "sealing \(name) failed") }
        return Array(combined)
    }

    func open(_ sealed: [UInt8], name: String, version: Int) throws -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key.key, authenticating: associatedData(name, version)))
        } catch {
            throw Problem(description: "secret \(name) version \(version) does not open with this master key (wrong key, or the record was altered)")
        }
    }
}
