import Foundation

/// One thing worth a tamper-evident trail: a message's lifecycle, a secret written or read (by name), a plugin
/// loaded, an admin call. The store appends it in the same transaction as the change it records.
public struct AuditEntry: Sendable, Equatable {
    /// Who: `ingress`, `worker`, `admin-api`, `cli`, `host`.
    public var actor: String
    /// What, dotted: `messages.received`, `messages.delivered`, `messages.dead_lettered`, `messages.replayed`,
    /// `messages.purged`, `secret.written`, `secret.read`, `secret.deleted`, `plugin.loaded`, `admin.request`.
    public var action: String
    /// What it concerns: a message id (or the first of a batch), a secret name, a plugin name, a path.
    public var subject: String
    public var correlationId: String?
    /// A JSON object with the details (canonical: keys sorted, no spaces) — never a secret value or a payload.
    public var detail: String

    public init(actor: String, action: String, subject: String, correlationId: String? = nil, detail: String = "{}") {
        self.actor = actor
        self.action = action
        self.subject = subject
        self.correlationId = correlationId
        self.detail = detail
    }
}

/// An appended entry with its place in the chain: `hash` = SHA-256 over a canonical encoding of every field and the
/// previous record's hash, so editing, removing or reordering a record breaks the chain at that point.
public struct AuditRecord: Sendable, Equatable {
    public var sequence: Int64
    public var at: Date
    public var entry: AuditEntry
    public var previousHash: String
    public var hash: String

    public init(sequence: Int64, at: Date, entry: AuditEntry, previousHash: String, hash: String) {
        self.sequence = sequence
        self.at = at
        self.entry = entry
        self.previousHash = previousHash
        self.hash = hash
    }
}

public enum AuditVerification: Sendable, Equatable {
    case intact(records: Int, head: String)
    /// The first record where the chain breaks, and how.
    case broken(sequence: Int64, reason: String)
}

/// The audit trail of a store.
public protocol AuditLog: Sendable {
    func audit(_ entries: [AuditEntry], at: Date) async throws
    func verifyAudit() async throws -> AuditVerification
    func auditRecords(since: Date?, limit: Int) async throws -> [AuditRecord]
}

/// Builds the canonical detail object: keys sorted, values JSON strings or raw JSON.
public enum AuditDetail {
    public static func object(_ fields: [String: AuditValue]) -> String {
        "{" + fields.sorted { $0.key < $1.key }.map { quote($0.key) + ":" + $0.value.json }.joined(separator: ",") + "}"
    }

    public enum AuditValue: Sendable {
        case string(String)
        case int(Int)
        case strings([String])

        var json: String {
            switch self {
            case .string(let s): return quote(s)
            case .int(let n): return String(n)
            case .strings(let list): return "[" + list.map(quote).joined(separator: ",") + "]"
            }
        }
    }

    public static func quote(_ text: String) -> String {
        // Byte-wise: this runs for every header of every accepted message and every id of every audit record, and
        // appending scalar by scalar showed in the pipeline's profile. Bytes of multi-byte characters (>= 0x80) pass
        // through unchanged, so the result stays valid UTF-8.
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            return "\"" + text + "\""
        }
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0..<0x20: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }
}
