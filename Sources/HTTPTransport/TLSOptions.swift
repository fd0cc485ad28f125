/// How a request verifies its server and, for mutual TLS, identifies itself.
///
/// Verification is always on: there is no switch to turn it off. Everything here is held in memory and handed to
/// libcurl as blobs (`CURLOPT_CAINFO_BLOB`, `CURLOPT_SSLCERT_BLOB`, `CURLOPT_SSLKEY_BLOB`); nothing is written to disk,
/// and `description` never shows key material.
public struct TLSOptions: Sendable, Hashable, CustomStringConvertible {
    /// Extra trust anchors, one or more PEM certificates concatenated.
    public var additionalTrustRootsPEM: [UInt8]?
    /// Whether the system CA store (Debian's `/etc/ssl/certs`) is trusted as well. Set to false to trust only
    /// `additionalTrustRootsPEM`, for a partner reached through a private CA.
    public var trustSystemRoots: Bool
    /// The client certificate and key presented when the server asks for one.
    public var clientIdentity: ClientIdentity?

    public init(additionalTrustRootsPEM: [UInt8]? = nil, trustSystemRoots: Bool = true,
                clientIdentity: ClientIdentity? = nil) {
        self.additionalTrustRootsPEM = additionalTrustRootsPEM
        self.trustSystemRoots = trustSystemRoots
        self.clientIdentity = clientIdentity
    }

    public var description: String {
        var parts = ["systemRoots: \(trustSystemRoots)"]
        if let roots = additionalTrustRootsPEM { parts.append("additionalRoots: \(roots.count) bytes") }
        if clientIdentity != nil { parts.append("clientIdentity: <redacted>") }
        return "TLSOptions(\(parts.joined(separator: ", ")))"
    }
}

/// A client certificate (PEM, optionally followed by its intermediates) and its unencrypted private key (PEM).
/// The key is a secret: `description` and `debugDescription` redact it.
public struct ClientIdentity: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public var certificateChainPEM: [UInt8]
    public var privateKeyPEM: [UInt8]

    public init(certificateChainPEM: [UInt8], privateKeyPEM: [UInt8]) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
    }

    public var description: String { "ClientIdentity(<redacted>)" }
    public var debugDescription: String { description }
}
