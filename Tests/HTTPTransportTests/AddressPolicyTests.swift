import HTTPTransport
import Hummingbird
import Testing

/// The address policy judges the address actually connected to, before any request byte is sent.
@Suite struct AddressPolicyTests {
    @Test func refusedAddressesGetNoRequest() async throws {
        let log = ServerLog()
        let router = makeRouter(log: log)
        router.get("/") { _, _ in "reached" }
        try await withServer(router) { port in
            try await withClient(HTTPClient.Configuration(addressPolicy: .refusing([.loopback]))) { client in
                for host in ["127.0.0.1", "localhost"] {
                    let error = await transportError { () throws(HTTPTransportError) in
                        try await client.execute(HTTPClient.Request(url: "http://\(host):\(port)/?token=secret"))
                    }
                    #expect(error?.code == .addressRefused, "\(host)")
                    #expect(error?.isRetryable == false)
                    #expect(error?.address?.classification == .loopback)
                    #expect(error?.host == host)
                    #expect(error?.description.contains("secret") == false)
                }
                // The same client may still reach the server when a request brings its own policy.
                let allowed = try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/",
                                                                          addressPolicy: .allowAll))
                #expect(allowed.status == 200)

                // A kept-alive connection is judged again on reuse.
                let reused = await transportError { () throws(HTTPTransportError) in
                    try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/"))
                }
                #expect(reused?.code == .addressRefused)
            }
        }
        #expect(log.requestCount == 1)
    }

    @Test func publicOnlyRefusesLoopback() async throws {
        await withClient(HTTPClient.Configuration(addressPolicy: .publicOnly)) { client in
            let error = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:9/"))
            }
            #expect(error?.code == .addressRefused)
            #expect(error?.address == ConnectedAddress(ip: "127.0.0.1", port: 9))
        }
    }
}
