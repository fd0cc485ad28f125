import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The few HTTP calls the demo makes to the simulators, the server's admin API and Odoo's JSON-RPC.
enum DemoHTTP {
    struct Reply {
        let status: Int
        let body: Data
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func send(_ method: String, _ url: String, body: String? = nil, contentType: String = "application/json",
                     headers: [String: String] = [:]) async throws -> Reply {
        guard let target = URL(string: url) else { throw CLIError("bad URL \(url)") }
        var request = URLRequest(url: target, timeoutInterval: 30)
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }

    static func get(_ url: String, headers: [String: String] = [:]) async throws -> Reply { try await send("GET", url, headers: headers) }

    static func post(_ url: String, _ body: String, contentType: String = "application/json", headers: [String: String] = [:]) async throws -> Reply {
        try await send("POST", url, body: body, contentType: contentType, headers: headers)
    }

    static func json(_ value: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data("null".utf8), as: UTF8.self)
    }
}

/// Odoo's external API, as a finance clerk's script would call it (the demo confirms a purchase order by hand).
struct DemoOdoo {
    let url: String
    let database: String
    let apiKey: String

    func call(_ model: String, _ method: String, _ args: [Any], _ kwargs: [String: Any] = [:]) async throws -> Any? {
        let body: [String: Any] = ["jsonrpc": "2.0", "method": "call", "id": 1,
                                   "params": ["service": "object", "method": "execute_kw", "args": [database, 2, apiKey, model, method, args, kwargs]]]
        let reply = try await DemoHTTP.post(url + "/jsonrpc", DemoHTTP.json(body))
        guard let object = reply.json as? [String: Any] else { throw CLIError("Odoo answered \(reply.status): \(reply.text.prefix(200))") }
        if let error = object["error"] as? [String: Any] {
            throw CLIError("Odoo \(model).\(method): \(((error["data"] as? [String: Any])?["message"] as? String) ?? "\(error)")")
        }
        return object["result"]
    }

    /// Every record of `model` (the simulator's state dump).
    func records(_ model: String) async throws -> [[String: Any]] {
        let state = try await DemoHTTP.get(url + "/_sim/state").json as? [String: Any]
        return ((state?["models"] as? [String: Any])?[model] as? [[String: Any]]) ?? []
    }
}
