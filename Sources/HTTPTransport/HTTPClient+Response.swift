extension HTTPClient {
    /// A complete response: status, header fields, body, and where and how it was fetched.
    public struct Response: Sendable {
        public var status: Int
        /// The header fields of the final response only (not those of a `100 Continue` or of redirect hops), in order,
        /// names as the server sent them (lower case over HTTP/2). Trailers, if any, follow them.
        public var headers: [HTTPHeader]
        public var body: [UInt8]
        /// The URL of the final hop.
        public var url: HTTPURL
        /// The address and port of the final hop's connection.
        public var remoteAddress: ConnectedAddress?
        public var httpVersion: HTTPVersion
        public var timings: HTTPTimings
        /// How many redirects were followed.
        public var redirectCount: Int
        /// How many new connections were opened over all hops (0 when every hop reused a kept-alive connection).
        public var newConnections: Int
        /// Where a 3xx response points, resolved against its URL; set whether or not it was followed.
        public var redirectLocation: String?

        public init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = [], url: HTTPURL,
                    remoteAddress: ConnectedAddress? = nil, httpVersion: HTTPVersion = .http1_1,
                    timings: HTTPTimings = HTTPTimings(), redirectCount: Int = 0, newConnections: Int = 0,
                    redirectLocation: String? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.url = url
            self.remoteAddress = remoteAddress
            self.httpVersion = httpVersion
            self.timings = timings
            self.redirectCount = redirectCount
            self.newConnections = newConnections
            self.redirectLocation = redirectLocation
            self.retryAfter = headers.first("Retry-After").flatMap { RetryAfter.parse($0) }
        }

        /// `Retry-After` as a wait from when the response was received (delta-seconds or HTTP-date; a past date is
        /// zero); nil when absent or unparseable.
        public var retryAfter: Duration?
    }
}
