import HTTPTransport
import Hummingbird
import HummingbirdHTTP2
import HummingbirdTLS
import NIOSSL
import Testing

/// HTTPS against servers using a CA made for the test: verification, HTTP/2 over ALPN, and mutual TLS.
@Suite struct HTTPClientTLSTests {
    static let pki = TestPKI.shared

    static func router(log: ServerLog) -> Router<PeerContext> {
        let router = makeRouter(log: log)
        router.get("/secure") { _, _ in "secure" }
        return router
    }

    static var trustingTestCA: TLSOptions { TLSOptions(additionalTrustRootsPEM: Array(pki.caPEM.utf8)) }

    @Test func unknownCAFailsVerificationPermanently() async throws {
        let log = ServerLog()
        let server = ServerKind.tls(try Self.pki.serverTLS())
        try await withServer(Self.router(log: log), server: server) { port in
            await withClient { client in
                let error = await transportError { () throws(HTTPTransportError) in
                    try await client.execute(HTTPClient.Request(url: "https://localhost:\(port)/secure"))
                }
                #expect(error?.code == .certificateVerificationFailed)
                #expect(error?.isRetryable == false)
                #expect(error?.description.contains("localhost") == true)
            }
        }
        #expect(log.requestCount == 0)
    }

    @Test func trustedCASucceedsOverHTTP1() async throws {
        let server = ServerKind.tls(try Self.pki.serverTLS())
        try await withServer(Self.router(log: ServerLog()), server: server) { port in
            try await withClient(HTTPClient.Configuration(tls: Self.trustingTestCA)) { client in
                let response = try await client.execute(HTTPClient.Request(url: "https://localhost:\(port)/secure"))
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self) == "secure")
                #expect(response.httpVersion == .http1_1)
                #expect(response.timings.tlsHandshake > .zero)
                #expect(response.remoteAddress?.ip == "127.0.0.1")

                // Per request, and with the system roots switched off, the test CA alone is enough.
                let strict = try await client.execute(HTTPClient.Request(
                    url: "https://localhost:\(port)/secure",
                    tls: TLSOptions(additionalTrustRootsPEM: Array(Self.pki.caPEM.utf8), trustSystemRoots: false)))
                #expect(strict.status == 200)
            }
        }
    }

    @Test func http2IsNegotiatedAndMultiplexed() async throws {
        let log = ServerLog()
        let server = ServerKind.http2(try Self.pki.serverTLS(alpn: ["h2", "http/1.1"]))
        try await withServer(Self.router(log: log), server: server) { port in
            try await withClient { client in
                let request = HTTPClient.Request(url: "https://localhost:\(port)/secure", tls: Self.trustingTestCA)
                let first = try await client.execute(request)
                #expect(first.status == 200)
                #expect(first.httpVersion == .http2)
                #expect(first.headers.allSatisfy { $0.name == $0.name.lowercased() })

                let opened = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            let response = try await client.execute(request)
                            #expect(response.httpVersion == .http2)
                            return response.newConnections
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(opened == 0, "all 20 streams should share the first connection")
            }
        }
        #expect(log.requestCount == 21)
    }

    @Test func mutualTLSNeedsTheClientCertificate() async throws {
        let log = ServerLog()
        let server = ServerKind.tls(try Self.pki.serverTLS(requireClientCertificate: true))
        try await withServer(Self.router(log: log), server: server) { port in
            try await withClient(HTTPClient.Configuration(tls: Self.trustingTestCA)) { client in
                let anonymous = await transportError { () throws(HTTPTransportError) in
                    try await client.execute(HTTPClient.Request(url: "https://localhost:\(port)/secure"))
                }
                #expect(anonymous?.code == .tlsFailure)
                #expect(anonymous?.isRetryable == false)

                let identity = ClientIdentity(certificateChainPEM: Array(Self.pki.clientCertificatePEM.utf8),
                                              privateKeyPEM: Array(Self.pki.clientKeyPEM.utf8))
                var tls = Self.trustingTestCA
                tls.clientIdentity = identity
                let response = try await client.execute(HTTPClient.Request(url: "https://localhost:\(port)/secure",
                                                                           tls: tls))
                #expect(response.status == 200)
                #expect(!"\(tls)".contains("PRIVATE KEY"))
                #expect("\(identity)" == "ClientIdentity(<redacted>)")
            }
        }
        #expect(log.requestCount == 1)
    }
}
