import Foundation

/// `http.request` as the host sees it: the prelude's wrapper (see LuaPrelude.swift) validates the request table and
/// calls the raw host function `http.send(method, url, headers, body, timeout_ms, max_redirects)`, where `headers` is
/// "name\0value\0…" (the wrapper refused CR, LF and NUL in names and values). The calling coroutine waits while the
/// gateway performs the request; other invocations of the state run meanwhile.
///
/// Returns `status, headers (a table of lower-case names; repeated fields joined with ", "), body` on a response;
/// `nil, message, retryable, retry_after_ms` when no response came (the wrapper raises a classified error); a
/// `permission` fault when the egress policy refuses the request.
extension HostModules {
    static let maxRequestBodyBytes = 16 << 20
    static let maxTimeoutMilliseconds: Int64 = 300_000

    static func httpSend(_ call: borrowing HostCall) -> HostOutcome {
        guard let gateway = call.context.http else {
            return .fault(.permission, "http.request: this plugin has no network access here (no egress configured)")
        }
        guard case .success(let method) = call.string(1), case .success(let url) = call.string(2),
              case .success(let headerBytes) = call.string(3), case .success(let body) = call.optionalString(4) else {
            return .error("http.request: bad arguments (use http.request{method=, url=, headers=, body=})")
        }
        var timeout: Int?
        if !call.isNil(5) {
            guard case .success(let value) = call.integer(5), (1...maxTimeoutMilliseconds).contains(value) else {
                return .error("http.request: timeout_ms must be an integer between 1 and \(maxTimeoutMilliseconds)")
            }
            timeout = Int(value)
        }
        guard case .success(let redirects) = call.integer(6), (0...10).contains(redirects) else {
            return .error("http.request: max_redirects must be an integer between 0 and 10")
        }
        let bodySecrets = call.boolean(7)
        if let body, body.count > maxRequestBodyBytes {
            return .error("http.request: body of \(body.count) bytes exceeds \(maxRequestBodyBytes)")
        }
        let fields = headerBytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        var headers: [(name: String, value: String)] = []
        var index = 0
        while index + 1 < fields.count {
            headers.append((fields[index], fields[index + 1]))
            index += 2
        }
        let request = PluginHTTPRequest(method: String(decoding: method, as: UTF8.self), url: String(decoding: url, as: UTF8.self),
                                        headers: headers, body: body, timeoutMilliseconds: timeout, maxRedirects: Int(redirects),
                                        bodyHasSecretReferences: bodySecrets)
        let plugin = call.context.pluginName
        let correlationId = call.context.current?.correlationId
        return .wait(HostOperation(name: "http.request", finishingWithin: { limit in
            var request = request
            request.finishWithin = limit
            switch await gateway.send(request, plugin: plugin, correlationId: correlationId) {
            case .response(let status, let headers, let body):
                return .values([.integer(Int64(status)), .fields(headerFields(headers)), .string(body)])
            case .failure(let message, let retryable, let retryAfter, let deferred):
                return .values([.nil, .text(message), .bool(retryable), retryAfter.map { .integer(Int64($0)) } ?? .nil,
                                .bool(deferred)])
            case .refused(let message):
                return .fault(.permission, message)
            }
        }))
    }

    /// Response headers as the table Lua gets: lower-case names, repeated fields joined with ", " (as RFC 9110
    /// allows), except Set-Cookie, whose values are joined with "\n" since they may contain commas.
    ///
    /// Built as bytes and handed over as `.fields`: this runs for every response, and going through `String`
    /// lower-casing, then JSON text and the JSON decoder, cost more than the rest of the host function in the HTTP
    /// benchmark's profile. Names are tokens (ASCII), so only A–Z are lower-cased.
    static func headerFields(_ headers: [(name: String, value: String)]) -> HostFields {
        var merged: [(name: [UInt8], value: [UInt8])] = []
        merged.reserveCapacity(headers.count)
        for (name, value) in headers {
            let key = name.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
            if let at = merged.firstIndex(where: { $0.name == key }) {
                merged[at].value += (key == setCookie ? [0x0A] : [0x2C, 0x20]) + Array(value.utf8)
            } else {
                merged.append((key, Array(value.utf8)))
            }
        }
        var fields = HostFields()
        for field in merged { fields.append(field.name, field.value) }
        return fields
    }

    private static let setCookie = Array("set-cookie".utf8)
}
