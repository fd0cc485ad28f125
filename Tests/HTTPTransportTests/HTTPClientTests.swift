import HTTPTransport
import Hummingbird
import NIOCore
import Testing

/// Plain HTTP against a real local server: round trips, headers, bodies, keep-alive and concurrency.
@Suite struct HTTPClientTests {
    static func router(log: ServerLog) -> Router<PeerContext> {
        let router = makeRouter(log: log)
        router.get("/hello") { request, _ in
            var headers = HTTPFields()
            headers[values: .init("X-Multi")!] = ["one", "two"]
            headers[.init("X-Seen")!] = request.headers[.init("X-Token")!] ?? "none"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "hello")))
        }
        router.on("/echo", method: .post) { request, _ in try await echo(request) }
        router.on("/echo", method: .put) { request, _ in try await echo(request) }
        router.on("/echo", method: .delete) { request, _ in try await echo(request) }
        return router
    }

    /// Answers 201 with the request's body and, in headers, its method, content type and `X-Dup` values.
    static func echo(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        var headers = HTTPFields()
        headers[.init("X-Method")!] = request.method.rawValue
        headers[.init("X-Content-Type")!] = request.headers[.contentType] ?? "none"
        headers[.init("X-Dup")!] = request.headers[values: .init("X-Dup")!].joined(separator: "|")
        return Response(status: .created, headers: headers, body: .init(byteBuffer: body))
    }

    @Test func getReturnsStatusHeadersBodyAndPeer() async throws {
        let log = ServerLog()
        try await withServer(Self.router(log: log)) { port in
            try await withClient { client in
                let response = try await client.execute(HTTPClient.Request(
                    url: "http://127.0.0.1:\(port)/hello", headers: [HTTPHeader("X-Token", "t-1")]))
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self) == "hello")
                #expect(response.headers.values(for: "x-multi") == ["one", "two"])
                #expect(response.headers.first("X-Seen") == "t-1")
                #expect(response.httpVersion == .http1_1)
                #expect(response.remoteAddress == ConnectedAddress(ip: "127.0.0.1", port: port))
                #expect(response.url.host == "127.0.0.1")
                #expect(response.timings.total > .zero)
                #expect(response.timings.total >= response.timings.connect)
                #expect(response.newConnections == 1)
                #expect(response.retryAfter == nil)
            }
        }
        #expect(log.paths == ["/hello"])
    }

    @Test func bodiesAndMethodsRoundTrip() async throws {
        try await withServer(Self.router(log: ServerLog())) { port in
            try await withClient { client in
                let url = "http://127.0.0.1:\(port)/echo"
                let json = Array(#"{"patient":"p-1"}"#.utf8)
                let post = try await client.execute(HTTPClient.Request(
                    method: "POST", url: url,
                    headers: [HTTPHeader("Content-Type", "application/json"), HTTPHeader("X-Dup", "a"),
                              HTTPHeader("X-Dup", "b")],
                    body: json))
                #expect(post.status == 201)
                #expect(post.body == json)
                #expect(post.headers.first("X-Method") == "POST")
                #expect(post.headers.first("X-Content-Type") == "application/json")
                #expect(post.headers.first("X-Dup") == "a|b")

                // Binary bodies with NULs survive, PUT is sent as PUT, and no Content-Type is invented.
                let binary: [UInt8] = [0, 1, 2, 0, 255, 0]
                let put = try await client.execute(HTTPClient.Request(method: "PUT", url: url, body: binary))
                #expect(put.body == binary)
                #expect(put.headers.first("X-Method") == "PUT")
                #expect(put.headers.first("X-Content-Type") == "none")

                let empty = try await client.execute(HTTPClient.Request(method: "POST", url: url))
                #expect(empty.status == 201)
                #expect(empty.body.isEmpty)

                let delete = try await client.execute(HTTPClient.Request(method: "DELETE", url: url))
                #expect(delete.headers.first("X-Method") == "DELETE")
            }
        }
    }

    @Test func sequentialRequestsReuseTheConnection() async throws {
        let log = ServerLog()
        try await withServer(Self.router(log: log)) { port in
            try await withClient { client in
                var opened = 0
                for _ in 0..<50 {
                    let response = try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/hello"))
                    #expect(response.status == 200)
                    opened += response.newConnections
                }
                #expect(opened == 1)
            }
        }
        #expect(log.requestCount == 50)
        #expect(log.connectionCount == 1)
    }

    @Test func twoHundredConcurrentRequestsSucceed() async throws {
        let log = ServerLog()
        let configuration = HTTPClient.Configuration(maxConnectionsPerHost: 8)
        try await withServer(Self.router(log: log)) { port in
            try await withClient(configuration) { client in
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<200 {
                        group.addTask {
                            try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/hello")).status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.count == 200)
                #expect(statuses.allSatisfy { $0 == 200 })
            }
        }
        #expect(log.requestCount == 200)
        #expect(log.connectionCount <= 8)
    }

    @Test func invalidRequestsFailBeforeSending() async throws {
        await withClient { client in
            let ftp = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(url: "ftp://127.0.0.1/file"))
            }
            #expect(ftp?.code == .invalidURL)
            #expect(ftp?.isRetryable == false)

            let relative = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(url: "/relative/path"))
            }
            #expect(relative?.code == .invalidURL)

            let injected = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(
                    url: "http://127.0.0.1:1/", headers: [HTTPHeader("X-Evil", "a\r\nX-Injected: yes")]))
            }
            #expect(injected?.code == .invalidRequest)
            #expect(injected?.description.contains("X-Injected") == false)

            let method = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(method: "GET /x", url: "http://127.0.0.1:1/"))
            }
            #expect(method?.code == .invalidRequest)
        }
    }

    @Test func shutDownClientRefusesRequests() async throws {
        let client = HTTPClient()
        client.shutdown()
        client.shutdown()
        let error = await transportError { () throws(HTTPTransportError) in
            try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:1/"))
        }
        #expect(error?.code == .shutdown)
    }
}

@Suite struct HTTPBenchmarkTests {
    @Test func benchmarkCountsEveryRequest() async throws {
        let log = ServerLog()
        try await withServer(HTTPClientTests.router(log: log)) { port in
            await withClient { client in
                let result = await client.benchmark(HTTPClient.Request(url: "http://127.0.0.1:\(port)/hello"),
                                                    count: 100, concurrency: 4)
                #expect(result.requests == 100)
                #expect(result.succeeded == 100)
                #expect(result.statuses == [200: 100])
                #expect(result.failures.isEmpty)
                #expect(result.newConnections <= 4)
                #expect(result.p50 <= result.p99 && result.p99 <= result.max)
                #expect(result.description.hasPrefix("100 requests, 100 ok"))
            }
        }
        #expect(log.requestCount == 100)
    }
}
