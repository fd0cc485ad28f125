/// What kind of network an address belongs to, for egress policy (SSRF and DNS-rebinding defence).
public enum AddressClass: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `127.0.0.0/8`, `::1`.
    case loopback
    /// `169.254.0.0/16` (cloud metadata services live here), `fe80::/10`.
    case linkLocal
    /// `10/8`, `172.16/12`, `192.168/16`, `100.64/10` (carrier-grade NAT), `fc00::/7`, `fec0::/10`.
    case `private`
    /// `0.0.0.0`, `::` (on Linux, connecting to them reaches the local host).
    case unspecified
    /// `224.0.0.0/4`, `ff00::/8`.
    case multicast
    /// Not routable on the internet for another reason: `0/8`, `240/4` and broadcast, IETF protocol assignments
    /// `192.0.0/24`, benchmarking `198.18/15`, documentation ranges, IPv6 outside `2000::/3`, `100::/64`,
    /// `2001:db8::/32`, the deprecated IPv4-compatible `::/96`.
    case reserved
    /// Everything else: globally routable.
    case `public`

    public var description: String { rawValue }
}

extension IPAddress {
    /// The address's class. IPv4-mapped (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) IPv6 addresses are
    /// classified by the IPv4 address they carry, since that is where a connection to them ends up.
    public var classification: AddressClass {
        switch self {
        case .v4(let value):
            return Self.classify(v4: value)
        case .v6(let high, let low):
            if let mapped = ipv4Mapped { return mapped.classification }
            if high == 0x0064_FF9B_0000_0000, low >> 32 == 0 {
                return Self.classify(v4: UInt32(truncatingIfNeeded: low))
            }
            return Self.classify(v6High: high, low: low)
        }
    }

    /// Whether the address is globally routable, the only class an internet-facing egress policy should allow.
    public var isPublic: Bool { classification == .public }

    private static func classify(v4 value: UInt32) -> AddressClass {
        func within(_ network: UInt32, _ prefix: Int) -> Bool {
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
            return value & mask == network
        }
        if value == 0 { return .unspecified }
        if within(0x7F00_0000, 8) { return .loopback }
        if within(0xA9FE_0000, 16) { return .linkLocal }
        if within(0x0A00_0000, 8) || within(0xAC10_0000, 12) || within(0xC0A8_0000, 16) || within(0x6440_0000, 10) {
            return .private
        }
        if within(0xE000_0000, 4) { return .multicast }
        if within(0x0000_0000, 8) || within(0xF000_0000, 4) || within(0xC000_0000, 24) || within(0xC000_0200, 24)
            || within(0xC612_0000, 15) || within(0xC633_6400, 24) || within(0xCB00_7100, 24) {
            return .reserved
        }
        return .public
    }

    private static func classify(v6High high: UInt64, low: UInt64) -> AddressClass {
        func within(_ network: UInt64, _ prefix: Int) -> Bool {
            let mask: UInt64 = ~UInt64(0) << (64 - prefix)
            return high & mask == network
        }
        if high == 0 && low == 0 { return .unspecified }
        if high == 0 && low == 1 { return .loopback }
        if within(0xFE80_0000_0000_0000, 10) { return .linkLocal }
        if within(0xFC00_0000_0000_0000, 7) || within(0xFEC0_0000_0000_0000, 10) { return .private }
        if within(0xFF00_0000_0000_0000, 8) { return .multicast }
        if high == 0x0100_0000_0000_0000 || within(0x2001_0DB8_0000_0000, 32) { return .reserved }
        if !within(0x2000_0000_0000_0000, 3) { return .reserved }
        return .public
    }
}
