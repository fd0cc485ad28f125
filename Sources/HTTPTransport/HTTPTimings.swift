/// Where the time of the final hop went, each measured from the start of that hop (libcurl's `*_TIME_T`).
public struct HTTPTimings: Sendable, Hashable {
    public var nameLookup: Duration
    /// TCP connected (zero for a reused connection).
    public var connect: Duration
    /// TLS handshake done (zero for plain HTTP or a reused connection).
    public var tlsHandshake: Duration
    /// First response byte.
    public var firstByte: Duration
    public var total: Duration

    public init(nameLookup: Duration = .zero, connect: Duration = .zero, tlsHandshake: Duration = .zero,
                firstByte: Duration = .zero, total: Duration = .zero) {
        self.nameLookup = nameLookup
        self.connect = connect
        self.tlsHandshake = tlsHandshake
        self.firstByte = firstByte
        self.total = total
    }
}
