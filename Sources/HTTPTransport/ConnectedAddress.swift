/// The peer a transfer is about to talk to: the numeric address and port libcurl is connecting (or has connected)
/// to, after DNS. This, not the host name, is what an address policy judges.
public struct ConnectedAddress: Sendable, Hashable, CustomStringConvertible {
    /// The numeric address as libcurl reports it (`127.0.0.1`, `::1`).
    public let ip: String
    public let port: Int

    public init(ip: String, port: Int) {
        self.ip = ip
        self.port = port
    }

    /// The parsed address; nil only if libcurl reported something that is not a numeric address.
    public var address: IPAddress? { IPAddress(ip) }

    /// The address's class; an unparseable address counts as `.reserved`, so policies that refuse non-public
    /// addresses refuse it too.
    public var classification: AddressClass { address?.classification ?? .reserved }

    public var description: String { ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
}
