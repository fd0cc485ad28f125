import HTTPTransport
import Hummingbird
import NIOCore
import Testing

/// Timeouts, broken connections, size caps and cancellation, each against a real local server.
@Suite struct HTTPClientFailureTests {
    @Test func slowServerTimesOutRetryably() async throws {
        let server = try await RawServer.start(.silent)
        defer { Task { await server.stop() } }
        await withClient { client in
            let started = ContinuousClock.now
            let error = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(server.port)/slow",
                                                            timeout: .milliseconds(300)))
            }
            let elapsed = ContinuousClock.now - started
            #expect(error?.code == .timeout)
            #expect(error?.isRetryable == true)
            #expect(error?.description.contains("127.0.0.1") == true)
            #expect(elapsed >= .milliseconds(290))
            // Well under the 5 s total timeout: it was the connect timeout that fired (loose: the suite runs in parallel
            // on a 2-core machine).
            #expect(elapsed < .milliseconds(4_000))
        }
    }

    @Test func unansweredConnectTimesOutRetryably() async throws {
        let listener = try FullBacklogListener()
        await withClient { client in
            let started = ContinuousClock.now
            let error = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(listener.port)/",
                                                            connectTimeout: .milliseconds(300), timeout: .seconds(5)))
            }
            let elapsed = ContinuousClock.now - started
            #expect(error?.code == .connectTimeout)
            #expect(error?.isRetryable == true)
            #expect(elapsed >= .milliseconds(290))
            // Loose: the suite (and a headless Chromium) run in parallel on two cores; the code above already tells a
            // connect timeout from the 5 s overall one.
            #expect(elapsed < .milliseconds(4_900))
        }
        withExtendedLifetime(listener) {}
    }

    @Test func resetConnectionIsRetryable() async throws {
        let server = try await RawServer.start(.resetOnRead)
        defer { Task { await server.stop() } }
        await withClient { client in
            let error = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(server.port)/"))
            }
            #expect(error?.code == .connectionReset)
            #expect(error?.isRetryable == true)
        }
    }

    @Test func truncatedResponseIsRetryable() async throws {
        let server = try await RawServer.start(.partialResponse)
        defer { Task { await server.stop() } }
        await withClient { client in
            let error = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(server.port)/"))
            }
            #expect(error?.code == .connectionReset)
            #expect(error?.isRetryable == true)
        }
    }

    @Test func refusedConnectionIsRetryable() async throws {
        // Bind and close a server to get a port nobody listens on.
        let server = try await RawServer.start(.silent)
        let port = server.port
        await server.stop()
        await withClient { client in
            let error = await transportError { () throws(HTTPTransportError) in
                try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/"))
            }
            #expect(error?.code == .connectFailed)
            #expect(error?.isRetryable == true)
        }
    }

    @Test func oversizedBodiesAreCut() async throws {
        let router = makeRouter(log: ServerLog())
        router.get("/big") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 0x61, count: 10_000)))
        }
        router.get("/big-chunked") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                for _ in 0..<10 { try await writer.write(ByteBuffer(repeating: 0x62, count: 1_000)) }
                try await writer.finish(nil)
            })
        }
        router.get("/big-headers") { _, _ in
            var headers = HTTPFields()
            headers[.init("X-Padding")!] = String(repeating: "p", count: 4_000)
            return Response(status: .ok, headers: headers)
        }
        try await withServer(router) { port in
            try await withClient(HTTPClient.Configuration(maxHeaderBytes: 2_048)) { client in
                for path in ["/big", "/big-chunked"] {
                    let error = await transportError { () throws(HTTPTransportError) in
                        try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)\(path)",
                                                                    maxResponseBytes: 4_096))
                    }
                    #expect(error?.code == .responseTooLarge, "\(path)")
                    #expect(error?.limit == 4_096)
                    #expect(error?.isRetryable == false)
                    #expect(error?.description.contains("4096 bytes") == true)
                }
                let fits = try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/big",
                                                                       maxResponseBytes: 10_000))
                #expect(fits.body.count == 10_000)

                let headers = await transportError { () throws(HTTPTransportError) in
                    try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/big-headers"))
                }
                #expect(headers?.code == .headersTooLarge)
                #expect(headers?.limit == 2_048)
            }
        }
    }

    @Test func cancellingTheTaskCancelsTheTransferPromptly() async throws {
        let server = try await RawServer.start(.silent)
        defer { Task { await server.stop() } }
        try await withClient { client in
            let task = Task { () async throws(HTTPTransportError) -> HTTPClient.Response in
                try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(server.port)/",
                                                            timeout: .seconds(10)))
            }
            try await Task.sleep(for: .milliseconds(150))
            let cancelled = ContinuousClock.now
            task.cancel()
            let result = await task.result
            #expect(ContinuousClock.now - cancelled < .seconds(3), "the transfer had 10 s left") // loose: two loaded cores
            guard case .failure(let failure) = result, let error = failure as? HTTPTransportError else {
                Issue.record("expected cancellation")
                return
            }
            #expect(error.code == .cancelled)
            #expect(error.isRetryable == false)
            #expect(server.connectionCount == 1)

            // The client is still usable, and an already-cancelled task fails without sending.
            let precancelled = Task { () async throws(HTTPTransportError) -> HTTPClient.Response in
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(server.port)/"))
            }
            if case .failure(let error) = await precancelled.result {
                #expect((error as? HTTPTransportError)?.code == .cancelled)
            } else {
                Issue.record("expected cancellation")
            }
            #expect(server.connectionCount == 1)
        }
    }

    @Test func shutdownFailsRunningRequests() async throws {
        let server = try await RawServer.start(.silent)
        defer { Task { await server.stop() } }
        let client = HTTPClient()
        let task = Task { () async throws(HTTPTransportError) -> HTTPClient.Response in
            try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(server.port)/", timeout: .seconds(10)))
        }
        try await Task.sleep(for: .milliseconds(150))
        client.shutdown()
        guard case .failure(let error) = await task.result else {
            Issue.record("expected shutdown")
            return
        }
        #expect((error as? HTTPTransportError)?.code == .shutdown)
    }
}
