extension HTTPClient {
    /// A client's connection limits and the defaults its requests inherit.
    public struct Configuration: Sendable {
        /// Names the client's thread (`conflux-http-NAME`), for debuggers and `top -H`.
        public var name: String
        /// Event-loop threads, each with its own multi handle and connection cache. One is plenty for requests
        /// alone; a client whose loops also run the plugin states (`nextExecutor`) wants one per core. The
        /// connection limits below are for the whole client: each loop gets its share, rounded up.
        public var eventLoops: Int
        /// Connections open at once to one host (`CURLMOPT_MAX_HOST_CONNECTIONS`); further transfers wait for one
        /// to come free (or share one over HTTP/2).
        public var maxConnectionsPerHost: Int
        /// Connections open at once in total (`CURLMOPT_MAX_TOTAL_CONNECTIONS`); 0 is unlimited.
        public var maxTotalConnections: Int
        /// Idle connections kept alive for reuse (`CURLMOPT_MAXCONNECTS`); never fewer than `maxConnectionsPerHost`.
        public var connectionCacheSize: Int
        /// HTTP/2 streams at once on one connection (`CURLMOPT_MAX_CONCURRENT_STREAMS`).
        public var maxConcurrentStreams: Int
        /// Offer HTTP/2 over TLS (ALPN) and multiplex on it; plain http stays HTTP/1.1.
        public var allowHTTP2: Bool
        public var connectTimeout: Duration
        /// Limit on a whole request, redirects included.
        public var timeout: Duration
        public var maxResponseBytes: Int
        /// Limit on the header section of a response (status lines included).
        public var maxHeaderBytes: Int
        public var userAgent: String
        public var tls: TLSOptions
        public var addressPolicy: AddressPolicy

        public init(name: String = "client", eventLoops: Int = 1, maxConnectionsPerHost: Int = 8, maxTotalConnections: Int = 0,
                    connectionCacheSize: Int = 64, maxConcurrentStreams: Int = 100, allowHTTP2: Bool = true,
                    connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30),
                    maxResponseBytes: Int = 16 << 20, maxHeaderBytes: Int = 64 << 10,
                    userAgent: String = "Conflux-HTTPTransport/1", tls: TLSOptions = TLSOptions(),
                    addressPolicy: AddressPolicy = .allowAll) {
            self.name = name
            self.eventLoops = max(1, eventLoops)
            self.maxConnectionsPerHost = max(1, maxConnectionsPerHost)
            self.maxTotalConnections = max(0, maxTotalConnections)
            self.connectionCacheSize = max(1, connectionCacheSize)
            self.maxConcurrentStreams = max(1, maxConcurrentStreams)
            self.allowHTTP2 = allowHTTP2
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.maxResponseBytes = max(0, maxResponseBytes)
            self.maxHeaderBytes = max(1024, maxHeaderBytes)
            self.userAgent = userAgent
            self.tls = tls
            self.addressPolicy = addressPolicy
        }
    }
}

extension HTTPClient.Configuration {
    /// Loop `index`'s share of the client's connection limits: the limit divided among the loops, the remainder to the
    /// first ones, so the shares add up to the limit (0 stays unlimited; every loop gets at least 1, so a limit below
    /// the number of loops is exceeded, by at most one per loop).
    ///
    /// A plugin state sends through its own loop, so a partner sees at most that loop's share from one state: with
    /// many cores and a small per-host limit, raise the limit or use fewer loops.
    func share(of loops: Int, index: Int) -> Self {
        guard loops > 1 else { return self }
        func part(_ limit: Int) -> Int { limit == 0 ? 0 : max(1, limit / loops + (index < limit % loops ? 1 : 0)) }
        var share = self
        share.maxConnectionsPerHost = part(maxConnectionsPerHost)
        share.maxTotalConnections = part(maxTotalConnections)
        share.connectionCacheSize = part(connectionCacheSize)
        return share
    }
}
