import Executors
import Foundation
import Hummingbird
import NIOCore
import Testing
@testable import HTTPTransport

/// The client's event loops as serial executors: an actor bound to one sends through it and is resumed on it without
/// leaving its thread; it keeps running after the client shuts down; cancellation still reaches its transfers.
@Suite struct HTTPClientExecutorTests {
    /// A stand-in for a plugin state: an actor on an executor the client lends.
    actor Requester {
        let client: HTTPClient
        let executor: any PluginExecutor
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

        init(client: HTTPClient) {
            self.client = client
            executor = client.nextExecutor()
        }

        /// The thread's kernel name and id before the request and after it, and the response status.
        func get(_ url: String, timeout: Duration = .seconds(10)) async throws(HTTPTransportError) -> (before: ThreadSeen, after: ThreadSeen, status: Int) {
            let before = ThreadSeen.now()
            let response = try await client.execute(HTTPClient.Request(url: url, timeout: timeout))
            return (before, ThreadSeen.now(), response.status)
        }

        func threadSeen() -> ThreadSeen { ThreadSeen.now() }

        /// Sends `count` requests one after another, as a plugin invocation does (the loop is the task's preferred
        /// executor too); returns how many jobs reached the loops from other threads meanwhile.
        nonisolated func sequence(_ url: String, count: Int) async throws(HTTPTransportError) -> Int {
            try await withTaskExecutorPreference(executor) { () async throws(HTTPTransportError) -> Int in
                try await sequenceOnLoop(url, count: count)
            }
        }

        private func sequenceOnLoop(_ url: String, count: Int) async throws(HTTPTransportError) -> Int {
            let before = client.remoteJobsEnqueued
            for _ in 0..<count { _ = try await client.execute(HTTPClient.Request(url: url)) }
            return client.remoteJobsEnqueued - before
        }
    }

    struct ThreadSeen: Sendable, Equatable {
        var name: String
        var id: UInt
        static func now() -> ThreadSeen {
            let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            return ThreadSeen(name: name.trimmingCharacters(in: .whitespacesAndNewlines), id: UInt(pthread_self()))
        }
    }

    static func router() -> Router<PeerContext> {
        let router = Router(context: PeerContext.self)
        router.get("/ok") { _, _ in "ok" }
        return router
    }

    @Test func anActorOnALoopSendsAndResumesOnTheLoopThread() async throws {
        try await withServer(Self.router()) { port in
            try await withClient(.init(name: "exec", eventLoops: 2)) { client in
                let first = Requester(client: client), second = Requester(client: client)
                let one = try await first.get("http://127.0.0.1:\(port)/ok")
                let two = try await second.get("http://127.0.0.1:\(port)/ok")
                #expect(one.status == 200 && two.status == 200)
                // The actor ran on the loop's thread before the request and was resumed on the same thread after it.
                #expect(one.before == one.after)
                #expect(two.before == two.after)
                // Two actors in turn get the two loops.
                #expect(Set([one.before.name, two.before.name]) == ["http-exec-0", "http-exec-1"])
                #expect(one.before.id != two.before.id)
                // No hop through the global executor: the response resumes the actor from the loop thread itself,
                // so nothing had to wake the loop from outside.
                let remote = try await first.sequence("http://127.0.0.1:\(port)/ok", count: 20)
                #expect(remote == 0)
                // A request from outside the loops goes to one of them and wakes it.
                let outside = try await client.execute(HTTPClient.Request(url: "http://127.0.0.1:\(port)/ok"))
                #expect(outside.status == 200)
            }
        }
    }

    @Test func actorsBoundToALoopKeepRunningAfterShutdownAndTheirRequestsFail() async throws {
        let client = HTTPClient(configuration: .init(name: "gone"))
        let requester = Requester(client: client)
        let onLoop = await requester.threadSeen()
        #expect(onLoop.name == "http-gone")
        client.shutdown()
        // Jobs now run on a shared job thread, still one at a time: the actor answers instead of hanging.
        let afterStop = await requester.threadSeen()
        #expect(afterStop.name.hasPrefix("conflux-jobs-"))
        do {
            _ = try await requester.get("http://127.0.0.1:9/never")
            Issue.record("a request after shutdown succeeded")
        } catch {
            #expect(error.code == .shutdown)
        }
    }

    @Test func cancellingARequestFromALoopBoundActorCancelsItsTransfer() async throws {
        let server = try await RawServer.start(.silent)
        defer { Task { await server.stop() } }
        try await withClient(.init(name: "cancel")) { client in
            let requester = Requester(client: client)
            let task = Task { try await requester.get("http://127.0.0.1:\(server.port)/", timeout: .seconds(10)) }
            try await Task.sleep(for: .milliseconds(150))
            let cancelled = ContinuousClock.now
            task.cancel()
            let result = await task.result
            #expect(ContinuousClock.now - cancelled < .seconds(3), "the transfer had 10 s left")
            guard case .failure(let failure) = result else {
                Issue.record("expected cancellation")
                return
            }
            #expect((failure as? HTTPTransportError)?.code == .cancelled)
        }
    }

    @Test func connectionLimitsAreSharedOutAmongTheLoops() {
        let whole = HTTPClient.Configuration(eventLoops: 3, maxConnectionsPerHost: 8, maxTotalConnections: 0,
                                             connectionCacheSize: 64)
        let part = whole.dividedAmong(loops: 3)
        #expect(part.maxConnectionsPerHost == 3)  // rounded up: 3 × 3 ≥ 8
        #expect(part.maxTotalConnections == 0)  // unlimited stays unlimited
        #expect(part.connectionCacheSize == 22)
        #expect(HTTPClient.Configuration(maxConnectionsPerHost: 1).dividedAmong(loops: 4).maxConnectionsPerHost == 1)
        #expect(whole.dividedAmong(loops: 1).maxConnectionsPerHost == 8)
    }
}
