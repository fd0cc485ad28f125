extension HTTPClient {
    /// One outbound request: what to send, where, and within which limits.
    ///
    /// Fields left nil take the client's defaults (`HTTPClient.Configuration`). `description` shows the method and the
    /// origin only, never the path, query, header values or body.
    public struct Request: Sendable, CustomStringConvertible {
        /// The method token, such as `GET` or `POST`; sent as given.
        public var method: String
        /// An absolute http or https URL.
        public var url: String {
            didSet { parsedURL = nil }
        }
        /// `url` already parsed by the caller (the egress gateway checks it before sending), so `execute` does not
        /// parse it again: `curl_url` set and get cost about 4% of the event loop's time per request.
        var parsedURL: HTTPURL?
        /// Header fields in order; duplicates are sent as given. A field named like one libcurl adds itself (`Accept`,
        /// `User-Agent`, `Content-Type`) replaces libcurl's.
        public var headers: [HTTPHeader]
        /// The request body; nil sends none (a POST, PUT or PATCH without a body sends an empty one).
        public var body: [UInt8]?
        /// Limit on connecting: TCP plus TLS handshake.
        public var connectTimeout: Duration?
        /// Limit on the whole request, every redirect hop included.
        public var timeout: Duration?
        /// Responses whose body exceeds this many bytes fail with `responseTooLarge`.
        public var maxResponseBytes: Int?
        /// Whether to follow redirects (default: no).
        public var redirects: RedirectPolicy
        /// Extra trust anchors and the client identity; nil uses the client's.
        public var tls: TLSOptions?
        /// Which connected addresses are allowed; nil uses the client's.
        public var addressPolicy: AddressPolicy?

        public init(method: String = "GET", url: String, headers: [HTTPHeader] = [], body: [UInt8]? = nil,
                    connectTimeout: Duration? = nil, timeout: Duration? = nil, maxResponseBytes: Int? = nil,
                    redirects: RedirectPolicy = .none, tls: TLSOptions? = nil, addressPolicy: AddressPolicy? = nil) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.maxResponseBytes = maxResponseBytes
            self.redirects = redirects
            self.tls = tls
            self.addressPolicy = addressPolicy
        }

        /// A request to a URL the caller has parsed already.
        public init(method: String = "GET", url: HTTPURL, headers: [HTTPHeader] = [], body: [UInt8]? = nil,
                    connectTimeout: Duration? = nil, timeout: Duration? = nil, maxResponseBytes: Int? = nil,
                    redirects: RedirectPolicy = .none, tls: TLSOptions? = nil, addressPolicy: AddressPolicy? = nil) {
            self.init(method: method, url: url.absoluteString, headers: headers, body: body, connectTimeout: connectTimeout,
                      timeout: timeout, maxResponseBytes: maxResponseBytes, redirects: redirects, tls: tls,
                      addressPolicy: addressPolicy)
            parsedURL = url
        }

        public var description: String {
            let origin = (try? HTTPURL(url))?.description ?? "<invalid URL>"
            let bodyText = body.map { "\($0.count) body bytes" } ?? "no body"
            return "\(method) \(origin) (\(headers.count) headers, \(bodyText))"
        }
    }
}
