/// Decides whether a transfer may talk to the address it is connecting to.
///
/// It is asked twice per transfer, both times on the client's event-loop thread inside a libcurl callback:
/// before each socket is opened (`CURLOPT_OPENSOCKETFUNCTION`, so a refused address sees not even a TCP SYN) and
/// again once the connection, new or reused, is ready and before any request byte is sent
/// (`CURLOPT_PREREQFUNCTION`). Because it judges the address actually connected to, a host name that resolves
/// (or re-resolves, DNS rebinding) to a refused address is refused. The closure must be quick and must not block,
/// await or call back into the client.
public struct AddressPolicy: Sendable, CustomStringConvertible {
    public let allows: @Sendable (ConnectedAddress) -> Bool
    private let name: String

    public init(_ name: String = "custom", allows: @escaping @Sendable (ConnectedAddress) -> Bool) {
        self.name = name
        self.allows = allows
    }

    /// Every address is allowed (the default: local development and tests).
    public static let allowAll = AddressPolicy("allowAll") { _ in true }

    /// Only globally routable addresses; loopback, private, link-local, unspecified, multicast and reserved
    /// addresses are refused.
    public static let publicOnly = AddressPolicy("publicOnly") { $0.classification == .public }

    /// Refuses the addresses whose class is in `classes`.
    public static func refusing(_ classes: Set<AddressClass>) -> AddressPolicy {
        AddressPolicy("refusing(\(classes.map(\.rawValue).sorted().joined(separator: ",")))") {
            !classes.contains($0.classification)
        }
    }

    public var description: String { "AddressPolicy.\(name)" }
}
