import HTTPTransport
import Testing

@Suite struct IPAddressClassificationTests {
    @Test(arguments: [
        // IPv4
        ("127.0.0.1", AddressClass.loopback), ("127.255.255.254", .loopback),
        ("10.0.0.1", .private), ("10.255.255.255", .private),
        ("172.16.0.1", .private), ("172.31.255.255", .private), ("172.15.255.255", .public), ("172.32.0.0", .public),
        ("192.168.1.10", .private), ("100.64.0.1", .private), ("100.127.255.255", .private), ("100.128.0.0", .public),
        ("169.254.169.254", .linkLocal), ("0.0.0.0", .unspecified), ("0.1.2.3", .reserved),
        ("224.0.0.251", .multicast), ("255.255.255.255", .reserved), ("240.0.0.1", .reserved),
        ("192.0.2.1", .reserved), ("198.18.0.1", .reserved), ("203.0.113.9", .reserved),
        ("8.8.8.8", .public), ("1.1.1.1", .public), ("93.184.216.34", .public),
        // IPv6
        ("::1", .loopback), ("::", .unspecified), ("fe80::1", .linkLocal), ("febf::1", .linkLocal),
        ("fe80::1%eth0", .linkLocal), ("fc00::1", .private), ("fd12:3456::1", .private), ("ff02::1", .multicast),
        ("2001:db8::1", .reserved), ("2606:4700:4700::1111", .public), ("[2a00:1450:4007::200e]", .public),
        ("4000::1", .reserved),
        // IPv4 inside IPv6
        ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::ffff:10.1.2.3", .private),
        ("::ffff:169.254.169.254", .linkLocal), ("::ffff:8.8.8.8", .public), ("::ffff:0.0.0.0", .unspecified),
        ("64:ff9b::192.168.0.1", .private), ("64:ff9b::8.8.8.8", .public),
    ])
    func classifies(text: String, expected: AddressClass) throws {
        let address = try #require(IPAddress(text))
        #expect(address.classification == expected)
        #expect(address.isPublic == (expected == .public))
    }

    @Test(arguments: ["", "localhost", "127.1", "0177.0.0.1", "1.2.3.4.5", "256.0.0.1", ":::1", "12345::"])
    func rejectsNonNumericAddresses(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func roundTripsText() throws {
        #expect(IPAddress("127.0.0.1") == .v4(0x7F00_0001))
        #expect(IPAddress("::1") == .v6(high: 0, low: 1))
        #expect(try #require(IPAddress("2001:DB8:0:0:0:0:0:1")).description == "2001:db8::1")
        #expect(try #require(IPAddress("::ffff:127.0.0.1")).ipv4Mapped == .v4(0x7F00_0001))
        #expect(try #require(IPAddress("10.0.0.1")).bytes == [10, 0, 0, 1])
        #expect(ConnectedAddress(ip: "::1", port: 443).description == "[::1]:443")
        #expect(ConnectedAddress(ip: "not an address", port: 1).classification == .reserved)
    }
}
