import Foundation
import LuaRuntime

/// Puts secret values where a plugin's request refers to them (a name between two 0x01 bytes, which only a
/// `secret(…)` handle can produce), at send time, after the egress check — and only secrets the plugin's catalog
/// entry declares. Errors name the secret, never a value.
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
            // "NAME#basic:USER" (from secret.basic): HTTP Basic credentials, base64("USER:" + value), RFC 7617.
            let reference = String(decoding: segment, as: UTF8.self)
            let parts = reference.split(separator: "#", maxSplits: 1).map(String.init)
            let name = parts.first ?? reference
            var basicUser: String? = nil
            if parts.count == 2 {
                guard parts[1].hasPrefix("basic:") else { return .failure(.refused("http.request: a malformed secret reference")) }
                basicUser = String(parts[1].dropFirst("basic:".count))
            }
            guard declared.contains(name) else {
                return .failure(.refused("http.request: secret \(name) is not declared in plugin \(plugin)'s catalog entry (secrets: \(declared.sorted().joined(separator: ", ")))"))
            }
            let value: [UInt8]
            do { value = try await reveal(name) } catch {
                return .failure(.failed("http.request: secret \(name) cannot be read: \(error)"))
            }
            if header, value.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
                return .failure(.refused("http.request: secret \(name) contains CR, LF or NUL and cannot go in a header"))
            }
            if let basicUser {
                out += Array(Data(Array((basicUser + ":").utf8) + value).base64EncodedString().utf8)
            } else {
                out += value
            }
        }
        return .success(out)
    }
}

enum Substitution {
    enum Failure: Error {
        case refused(String)
        case failed(String)
    }
}
