import Crypto
import Formats
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How the simulators call back into Conflux: a POST retried (3 tries, growing pauses) until a 2xx, as partner
/// systems do; returns the last status (0: no answer).
enum WebhookSender {
    static func post(_ url: URL, body: Data, headers: [String: String]) async -> (status: Int, tries: Int) {
        var status = 0, tries = 0
        while tries < 3 {
            tries += 1
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.httpBody = body
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            status = ((try? await URLSession.shared.data(for: request))?.1 as? HTTPURLResponse)?.statusCode ?? 0
            if (200..<300).contains(status) { break }
            try? await Task.sleep(for: .milliseconds(200 * tries))
        }
        return (status, tries)
    }

    /// Standard Webhooks 1.0 headers: webhook-id, webhook-timestamp, and `v1,` + base64 HMAC-SHA256 of
    /// "id.timestamp.body" under the base64 key after `whsec_`.
    static func standardWebhooksHeaders(id: String, body: Data, secret: String) -> [String: String] {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        let key = SymmetricKey(data: Data(base64Encoded: encoded) ?? Data(secret.utf8))
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signed = Data("\(id).\(timestamp).".utf8) + body
        let mac = Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
        return ["webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": "v1,\(mac)", "Content-Type": "application/json"]
    }

    /// Twilio's request signature (X-Twilio-Signature): base64 HMAC-SHA1 under the auth token of the full URL followed
    /// by each POST parameter's name and value, sorted by name.
    static func twilioSignature(url: String, parameters: [(String, String)], authToken: String) -> String {
        let text = url + parameters.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    static func formEncoded(_ parameters: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return parameters.map { name, value in
            (name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name) + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }.joined(separator: "&")
    }

    /// A form's fields, the first of each name.
    static func formDecoded(_ text: String) -> [String: String] {
        Dictionary(FormURLEncoded.parse(text), uniquingKeysWith: { first, _ in first })
    }
}
