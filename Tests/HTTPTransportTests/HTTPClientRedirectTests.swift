import HTTPTransport
import Hummingbird
import Testing

/// Redirects: off by default, followed hop by hop when asked, each hop checked by the policies.
@Suite struct HTTPClientRedirectTests {
    static func router(log: ServerLog, otherPort: Int = 0) -> Router<PeerContext> {
        let router = makeRouter(log: log)
        router.get("/start") { _, _ in Response(status: .found, headers: [.location: "/middle"]) }
        router.get("/middle") { _, _ in Response(status: .movedPermanently, headers: [.location: "/target?x=1"]) }
        router.get("/target") { request, _ in
            var headers = HTTPFields()
            headers[.init("X-Method")!] = request.method.rawValue
            headers[.init("X-Authorization")!] = request.headers[.authorization] ?? "none"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "arrived")))
        }
        router.post("/submit") { _, _ in Response(status: .seeOther, headers: [.location: "/target"]) }
        router.post("/keep") { _, _ in Response(status: .temporaryRedirect, headers: [.location: "/echo"]) }
        router.post("/echo") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            return Response(status: .ok, body: .init(byteBuffer: body))
        }
        router.get("/loop") { _, _ in Response(status: .found, headers: [.location: "/loop"]) }
        router.get("/elsewhere") { _, _ in
            Response(status: .found, headers: [.location: "http://127.0.0.1:\(otherPort)/target"])
        }
        router.get("/ftp") { _, _ in Response(status: .found, headers: [.location: "ftp://127.0.0.1/file"]) }
        return router
    }

    @Test func redirectsAreNotFollowedByDefault() async throws {
        let log = ServerLog()
        try await withServer(Self.router(log: log)) { port in
            try await withClient { client in
                let response = try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/start"))
                #expect(response.status == 302)
                #expect(response.headers.first("Location") == "/middle")
                #expect(response.redirectLocation == "http://127.0.0.1:\(port)/middle")
                #expect(response.redirectCount == 0)
            }
        }
        #expect(log.paths == ["/start"])
    }

    @Test func followsAllowedRedirects() async throws {
        let log = ServerLog()
        try await withServer(Self.router(log: log)) { port in
            try await withClient { client in
                let response = try await client.execute(HTTPClient.Request(
                    url: "http://127.0.0.1:\(port)/start", headers: [HTTPHeader("Authorization", "Bearer same-origin")],
                    redirects: .follow(max: 5)))
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self) == "arrived")
                #expect(response.redirectCount == 2)
                #expect(response.url.absoluteString == "http://127.0.0.1:\(port)/target?x=1")
                #expect(response.headers.first("X-Authorization") == "Bearer same-origin")
                #expect(response.newConnections == 1)

                // 303 turns a POST into a GET without body; 307 repeats the POST with its body.
                let seeOther = try await client.execute(HTTPClient.Request(
                    method: "POST", url: "http://127.0.0.1:\(port)/submit", body: Array("form".utf8),
                    redirects: .follow(max: 1)))
                #expect(seeOther.headers.first("X-Method") == "GET")
                let temporary = try await client.execute(HTTPClient.Request(
                    method: "POST", url: "http://127.0.0.1:\(port)/keep", body: Array("kept".utf8),
                    redirects: .follow(max: 1)))
                #expect(String(decoding: temporary.body, as: UTF8.self) == "kept")
            }
        }
        #expect(log.paths == ["/start", "/middle", "/target", "/submit", "/target", "/keep", "/echo"])
    }

    @Test func redirectLoopStops() async throws {
        let log = ServerLog()
        try await withServer(Self.router(log: log)) { port in
            await withClient { client in
                let error = await transportError { () throws(HTTPTransportError) in
                    try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/loop",
                                                                redirects: .follow(max: 3)))
                }
                #expect(error?.code == .tooManyRedirects)
                #expect(error?.limit == 3)
                #expect(error?.isRetryable == false)
            }
        }
        #expect(log.requestCount == 4)
    }

    @Test func redirectToARefusedAddressFails() async throws {
        let otherLog = ServerLog()
        try await withServer(makeRouter(log: otherLog)) { otherPort in
            let log = ServerLog()
            try await withServer(Self.router(log: log, otherPort: otherPort)) { port in
                // The policy allows the first server's port only.
                let policy = AddressPolicy { $0.port == port }
                await withClient(HTTPClient.Configuration(addressPolicy: policy)) { client in
                    let error = await transportError { () throws(HTTPTransportError) in
                        try await client.execute(HTTPClient.Request(
                            url: "http://127.0.0.1:\(port)/elsewhere", headers: [HTTPHeader("Authorization", "secret")],
                            redirects: .follow(max: 5)))
                    }
                    #expect(error?.code == .addressRefused)
                    #expect(error?.address == ConnectedAddress(ip: "127.0.0.1", port: otherPort))
                    #expect(error?.description.contains("secret") == false)

                    let ftp = await transportError { () throws(HTTPTransportError) in
                        try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/ftp",
                                                                    redirects: .follow(max: 5)))
                    }
                    #expect(ftp?.code == .redirectRefused)

                    let filtered = await transportError { () throws(HTTPTransportError) in
                        try await client.execute(HTTPClient.Request(
                            url: "http://127.0.0.1:\(port)/start",
                            redirects: RedirectPolicy(maxRedirects: 5) { $0.host == "example.org" }))
                    }
                    #expect(filtered?.code == .redirectRefused)
                }
            }
            #expect(log.paths == ["/elsewhere", "/ftp", "/start"])
        }
        #expect(otherLog.requestCount == 0)
    }

    @Test func crossOriginRedirectDropsCredentials() async throws {
        let otherLog = ServerLog()
        try await withServer(Self.router(log: otherLog)) { otherPort in
            try await withServer(Self.router(log: ServerLog(), otherPort: otherPort)) { port in
                try await withClient { client in
                    let response = try await client.execute(HTTPClient.Request(
                        url: "http://127.0.0.1:\(port)/elsewhere", headers: [HTTPHeader("Authorization", "Bearer t")],
                        redirects: .follow(max: 2)))
                    #expect(response.status == 200)
                    #expect(response.headers.first("X-Authorization") == "none")
                    #expect(response.url.port == otherPort)
                }
            }
        }
        #expect(otherLog.paths == ["/target"])
    }
}
