import CCurlShim

/// An absolute http or https URL, parsed and normalised by libcurl's own URL parser (`curl_url`), so the host
/// checked here is the host libcurl will connect to.
///
/// `description` shows only scheme, host and port: paths can carry identifiers and query strings can carry secrets,
/// so neither appears in errors or logs.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    /// The normalised URL handed to libcurl.
    public let absoluteString: String
    /// `http` or `https`, lower case.
    public let scheme: String
    /// The host as libcurl parsed it: a name, a dotted quad, or an IPv6 literal in brackets (`[::1]`).
    public let host: String
    /// The explicit port, or the scheme's default.
    public let port: Int

    /// Parses `text`; fails with `invalidURL` for anything but an absolute http(s) URL with a host.
    public init(_ text: String) throws(HTTPTransportError) {
        CurlGlobal.initialize()
        guard let handle = curl_url() else {
            throw HTTPTransportError(.other, host: nil, detail: "libcurl could not allocate a URL handle")
        }
        defer { curl_url_cleanup(handle) }

        let code = curl_url_set(handle, CURLUPART_URL, text, 0)
        guard code == CURLUE_OK else {
            throw HTTPTransportError(.invalidURL, host: nil, detail: String(cString: curl_url_strerror(code)))
        }
        func part(_ which: CURLUPart, _ flags: Int32 = 0) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &value, UInt32(flags)) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }
        let scheme = part(CURLUPART_SCHEME)?.lowercased() ?? ""
        guard let host = part(CURLUPART_HOST), !host.isEmpty else {
            throw HTTPTransportError(.invalidURL, host: nil, detail: "the URL has no host")
        }
        guard scheme == "http" || scheme == "https" else {
            throw HTTPTransportError(.invalidURL, host: host, detail: "only http and https URLs are allowed")
        }
        guard let url = part(CURLUPART_URL), let port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT).flatMap({ Int($0) })
        else {
            throw HTTPTransportError(.invalidURL, host: host, detail: "the URL could not be normalised")
        }
        self.absoluteString = url
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Whether `other` has the same origin (scheme, host, port): credentials are only carried across a redirect to
    /// the same origin.
    public func isSameOrigin(as other: HTTPURL) -> Bool {
        scheme == other.scheme && host.lowercased() == other.host.lowercased() && port == other.port
    }

    public var description: String { "\(scheme)://\(host):\(port)" }
}
