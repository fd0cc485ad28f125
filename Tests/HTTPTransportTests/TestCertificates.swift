import Crypto
import Foundation
import NIOSSL
import X509

/// A throw-away PKI made fresh for the tests: a CA, a server certificate for "localhost" and a client certificate,
/// all P-256 and signed by the CA.
struct TestPKI: Sendable {
    let caPEM: String
    let serverCertificatePEM: String
    let serverKeyPEM: String
    let clientCertificatePEM: String
    let clientKeyPEM: String

    static let shared: TestPKI = {
        do { return try TestPKI() } catch { fatalError("could not create the test PKI: \(error)") }
    }()

    init() throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Conflux Test CA") }
        let caPublicKey = Certificate.PublicKey(caKey.publicKey)
        let caIdentifier = SubjectKeyIdentifier(hash: caPublicKey)
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: caPublicKey,
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                caIdentifier
            },
            issuerPrivateKey: .init(caKey)
        )

        func leaf(_ name: String, usage: ExtendedKeyUsage.Usage) throws -> (String, String) {
            let key = P256.Signing.PrivateKey()
            let publicKey = Certificate.PublicKey(key.publicKey)
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: publicKey,
                notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName,
                subject: try DistinguishedName { CommonName(name) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([usage])
                    SubjectAlternativeNames([.dnsName(name)])
                    SubjectKeyIdentifier(hash: publicKey)
                    AuthorityKeyIdentifier(keyIdentifier: caIdentifier.keyIdentifier)
                },
                issuerPrivateKey: .init(caKey)
            )
            return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
        }

        caPEM = try ca.serializeAsPEM().pemString
        (serverCertificatePEM, serverKeyPEM) = try leaf("localhost", usage: .serverAuth)
        (clientCertificatePEM, clientKeyPEM) = try leaf("conflux-client", usage: .clientAuth)
    }

    /// The server side: the "localhost" certificate, offering `alpn`; with `requireClientCertificate`, only clients
    /// presenting a certificate signed by the CA get through.
    func serverTLS(alpn: [String] = ["http/1.1"], requireClientCertificate: Bool = false) throws -> TLSConfiguration {
        let certificate = try NIOSSLCertificate(bytes: Array(serverCertificatePEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(certificate)],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serverKeyPEM.utf8), format: .pem))
        )
        configuration.applicationProtocols = alpn
        if requireClientCertificate {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(caPEM.utf8), format: .pem)])
        }
        return configuration
    }
}
