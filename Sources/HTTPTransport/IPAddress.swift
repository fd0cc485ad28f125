#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A numeric IPv4 or IPv6 address, parsed with `inet_pton` (so only the canonical numeric forms are accepted:
/// no host names, no octal or shortened IPv4 such as `0177.1` or `127.1`).
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The 32 bits in host order: `127.0.0.1` is `0x7F00_0001`.
    case v4(UInt32)
    /// The 128 bits as two host-order halves: `::1` is `(high: 0, low: 1)`.
    case v6(high: UInt64, low: UInt64)

    /// Parses `"192.0.2.1"`, `"::1"`, `"[::1]"` or `"fe80::1%eth0"` (the zone is ignored).
    public init?(_ text: String) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        let plain = String(text)

        var v4 = in_addr()
        if inet_pton(AF_INET, plain, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, plain, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        self = .v6(high: high, low: low)
    }

    /// The network-order bytes: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// The IPv4 address carried in an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), or nil.
    public var ipv4Mapped: IPAddress? {
        guard case .v6(let high, let low) = self, high == 0, low >> 32 == 0xFFFF else { return nil }
        return .v4(UInt32(truncatingIfNeeded: low))
    }

    /// The canonical text (`inet_ntop`): dotted quad, or RFC 5952 IPv6 without brackets.
    public var description: String {
        var bytes = self.bytes
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeMutableBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
