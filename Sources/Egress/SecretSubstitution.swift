import Foundation
import LuaRuntime

/// Puts secret values where a plugin's request refers to them (a name between two 0x01 bytes, which only a
/// `secret(…)` handle can produce), at send time, after the egress check — and only secrets the plugin's catalog
/// entry declares. Errors name the secret, never a value.
///
/// A reference is `NAME`, or `NAME#basic:USER` (`secret.basic`), `NAME#json` (`secret.json`) or `NAME#form`
/// (`secret.form`): the value as it is, as HTTP Basic credentials, escaped for the inside of a JSON string, or
/// percent-encoded for a form body or a query.
struct SecretSubstitution {
    let plugin: String
    let declared: Set<String>
    let reveal: @Sendable (String) async throws -> [UInt8]

    /// `text` with every reference replaced; `header` refuses values with CR, LF or NUL (they would split the header).
    nonisolated(nonsending) func apply(_ text: [UInt8], header: Bool) async -> Result<[UInt8], Substitution.Failure> {
        let marker = PluginHTTPRequest.secretMarker
        guard text.contains(marker) else { return .success(text) }
        let segments = text.split(separator: marker, omittingEmptySubsequences: false)
        guard segments.count % 2 == 1 else { return .failure(.refused("http.request: a malformed secret reference")) }
        var out: [UInt8] = []
        for (index, segment) in segments.enumerated() {
            guard index % 2 == 1 else { out += segment; continue }
            guard let reference = Reference(String(decoding: segment, as: UTF8.self)) else {
                return .failure(.refused("http.request: a malformed secret reference"))
            }
            guard declared.contains(reference.name) else {
                return .failure(.refused("http.request: secret \(reference.name) is not declared in plugin \(plugin)'s catalog entry (secrets: \(declared.sorted().joined(separator: ", ")))"))
            }
            let value: [UInt8]
            do { value = try await reveal(reference.name) } catch {
                return .failure(.failed("http.request: secret \(reference.name) cannot be read: \(error)"))
            }
            let encoded: [UInt8]
            switch reference.form {
            case .plain: encoded = value
            case .basic(let user): encoded = Array(Data(Array((user + ":").utf8) + value).base64EncodedString().utf8)
            case .json:
                guard let escaped = Self.jsonStringContent(value) else {
                    return .failure(.refused("http.request: secret \(reference.name) is not UTF-8 text and cannot go in a JSON string (secret.json)"))
                }
                encoded = escaped
            case .percent: encoded = Self.percentEncoded(value)
            }
            if header, encoded.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
                return .failure(.refused("http.request: secret \(reference.name) contains CR, LF or NUL and cannot go in a header"))
            }
            out += encoded
        }
        return .success(out)
    }

    /// What the prelude's `secret_wire` writes between the markers.
    struct Reference {
        enum Form: Equatable { case plain, basic(user: String), json, percent }
        let name: String
        let form: Form

        init?(_ text: String) {
            let parts = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            name = parts[0]
            guard !name.isEmpty else { return nil }
            guard parts.count == 2 else { form = .plain; return }
            switch parts[1] {
            case "json": form = .json
            case "form": form = .percent
            case let suffix where suffix.hasPrefix("basic:"): form = .basic(user: String(suffix.dropFirst("basic:".count)))
            default: return nil
            }
        }
    }

    /// The bytes that go between a JSON string's quotes for `value`: JSONText's escaping (RFC 8259 §7) without the
    /// quotes; nil when `value` is not UTF-8, which JSON text must be.
    static func jsonStringContent(_ value: [UInt8]) -> [UInt8]? {
        guard let text = String(validating: value, as: UTF8.self) else { return nil }
        return Array(JSONText.string(text).utf8.dropFirst().dropLast())
    }

    /// `value` percent-encoded (RFC 3986 §2.1): the unreserved bytes (letters, digits, `-._~`) as they are, every other
    /// byte as %XX — safe in an application/x-www-form-urlencoded body and in a query component.
    static func percentEncoded(_ value: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.count * 3)
        for byte in value {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return out
    }
}

enum Substitution {
    enum Failure: Error {
        case refused(String)
        case failed(String)
    }
}
