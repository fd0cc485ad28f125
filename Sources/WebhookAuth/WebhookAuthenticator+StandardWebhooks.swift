import Crypto
import Foundation

/// Standard Webhooks 1.0, symmetric signatures (spec/standard-webhooks.md, "Signature scheme" and "Verifying
/// signatures"), following the reference libraries where the spec is silent: the `whsec_` prefix is optional, the
/// timestamp is checked before the signature, and entries of other versions (`v1a`, `v2`) are skipped.
extension WebhookAuthenticator {
    static let standardIDHeader = "webhook-id"
    static let standardTimestampHeader = "webhook-timestamp"
    static let standardSignatureHeader = "webhook-signature"
    private static let standardWhsecPrefix = "whsec_"

    /// The HMAC key of a Standard Webhooks secret: the base64 after an optional `whsec_` prefix; `nil` if that is not
    /// non-empty standard base64.
    static func standardWebhooksKey(_ secret: String) -> SymmetricKey? {
        let encoded = secret.hasPrefix(standardWhsecPrefix) ? String(secret.dropFirst(standardWhsecPrefix.count)) : secret
        guard let bytes = Data(base64Encoded: encoded), !bytes.isEmpty else { return nil }
        return SymmetricKey(data: bytes)
    }

    static func verifyStandardWebhooks(headers: [String: String], body: [UInt8], now: Date, secrets: [String],
                                       tolerance: TimeInterval) -> Result<Verified, WebhookAuthFailure>
    {
        let id = headers[standardIDHeader] ?? ""
        let timestampText = headers[standardTimestampHeader] ?? ""
        let signatureText = headers[standardSignatureHeader] ?? ""
        let missing = [(standardIDHeader, id), (standardTimestampHeader, timestampText),
                       (standardSignatureHeader, signatureText)].filter { $0.1.isEmpty }.map(\.0)
        if !missing.isEmpty {
            return .failure(WebhookAuthFailure(
                .missingSignature, header: missing[0],
                message: "Missing \(missing.count == 1 ? "header" : "headers") \(missing.joined(separator: ", ")). "
                    + "Standard Webhooks requires webhook-id (the message id), webhook-timestamp (Unix seconds) and "
                    + "webhook-signature (space-separated 'v1,<base64 HMAC-SHA256>' entries)."))
        }

        guard let timestamp = SignedTimestamp.parse(Substring(timestampText)) else {
            return .failure(WebhookAuthFailure(
                .malformedSignature, header: standardTimestampHeader,
                message: "webhook-timestamp must be an integer number of seconds since the Unix epoch "
                    + "(digits only, e.g. 1674087231)."))
        }
        if let failure = SignedTimestamp.check(timestamp, now: now, tolerance: tolerance,
                                               header: standardTimestampHeader, label: "webhook-timestamp ")
        {
            return .failure(failure)
        }

        let parsed = parseStandardSignatures(signatureText)
        if parsed.v1.isEmpty {
            if parsed.malformedEntries > 0 {
                return .failure(WebhookAuthFailure(
                    .malformedSignature, header: standardSignatureHeader,
                    message: "webhook-signature has no usable v1 entry: expected space-separated entries "
                        + "'v1,<base64>', each the standard base64 of a 32-byte HMAC-SHA256."))
            }
            return .failure(WebhookAuthFailure(
                .signatureMismatch, header: standardSignatureHeader,
                message: "webhook-signature carries no v1 entry; this endpoint verifies only v1 (HMAC-SHA256) "
                    + "signatures, and ignores other versions."))
        }

        // The key material is the spec's: "{msg_id}.{timestamp}.{payload}", the timestamp as the integer we parsed
        // (as the reference libraries re-format it), the body as the exact bytes received.
        let prefix = Array("\(id).\(timestamp).".utf8)
        for secret in secrets {
            guard let key = standardWebhooksKey(secret) else { continue }
            var hmac = HMAC<SHA256>(key: key)
            hmac.update(data: prefix)
            hmac.update(data: body)
            let mac = hmac.finalize()
            // `MessageAuthenticationCode == DataProtocol` is swift-crypto's constant-time compare.
            if parsed.v1.contains(where: { mac == $0 }) {
                return .success(Verified(webhookID: id, timestamp: Date(timeIntervalSince1970: TimeInterval(timestamp))))
            }
        }
        return .failure(WebhookAuthFailure(
            .signatureMismatch, header: standardSignatureHeader,
            message: "No v1 signature in webhook-signature matches this source's secret. Sign "
                + "'{webhook-id}.{webhook-timestamp}.{body}' with HMAC-SHA256, keyed by the base64-decoded part of "
                + "the whsec_ secret, over the exact body bytes sent (re-serialised JSON does not match), and send "
                + "'v1,' followed by the standard base64 of the 32-byte result."))
    }

    /// The decoded `v1` signatures of a `webhook-signature` header, and how many entries could not be used: no comma,
    /// an empty part, or a `v1` value that is not base64 of 32 bytes. Entries of other versions are skipped.
    static func parseStandardSignatures(_ header: String) -> (v1: [[UInt8]], malformedEntries: Int) {
        var v1: [[UInt8]] = []
        var malformed = 0
        for entry in header.split(separator: " ", omittingEmptySubsequences: true) {
            guard let comma = entry.firstIndex(of: ","), comma != entry.startIndex,
                  entry.index(after: comma) != entry.endIndex
            else {
                malformed += 1
                continue
            }
            guard entry[..<comma] == "v1" else { continue }
            if let mac = Data(base64Encoded: String(entry[entry.index(after: comma)...])),
               mac.count == SHA256.byteCount
            {
                v1.append(Array(mac))
            } else {
                malformed += 1
            }
        }
        return (v1, malformed)
    }
}
