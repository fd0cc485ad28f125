import Executors
import Foundation
import Synchronization
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
                // The actors run on the loops' threads (by name), two actors in turn on the two loops. (That the
                // response does not hop through another thread is what `remote == 0` below checks.)
                #expect(one.before.name == one.after.name)
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
        let shares = (0..<3).map { whole.share(of: 3, index: $0) }
        #expect(shares.map(\.maxConnectionsPerHost) == [3, 3, 2])  // adds up to the limit
        #expect(shares.map(\.maxTotalConnections) == [0, 0, 0])  // unlimited stays unlimited
        #expect(shares.map(\.connectionCacheSize).reduce(0, +) == 64)
        #expect(HTTPClient.Configuration(maxConnectionsPerHost: 1).share(of: 4, index: 3).maxConnectionsPerHost == 1)
        #expect(whole.share(of: 1, index: 0).maxConnectionsPerHost == 8)
    }

    /// Stopping the client while many tasks call into a loop-bound actor: its jobs move to a job thread, and no two
    /// of them ever run at once, before, during or after the move.
    @Test func aStoppingLoopNeverRunsTwoJobsOfItsActorsAtOnce() async throws {
        let client = HTTPClient(configuration: .init(name: "overlap"))
        let guardActor = OverlapGuard(executor: client.nextExecutor())
        // Many callers at once, on the loop, while it stops, and on the job thread after.
        for round in 0..<3 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        if round == 1 && index == 50 { client.shutdown() }
                        try await guardActor.enter()
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(await guardActor.entered == 300)
    }

    actor OverlapGuard {
        let executor: any PluginExecutor
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        private nonisolated let running = Mutex(false)
        private(set) var entered = 0

        init(executor: any PluginExecutor) { self.executor = executor }

        struct Overlap: Error {}

        /// Marks itself running for a moment of real work; throws if another job of this actor is running meanwhile.
        func enter() throws {
            guard running.withLock({ let was = $0; $0 = true; return !was }) else { throw Overlap() }
            // Long enough (tens of µs) that jobs run side by side would be caught.
            var spin = 0
            for value in 0..<50_000 { spin &+= value ^ (spin >> 3) }
            entered += 1 + (spin == -1 ? 1 : 0)
            running.withLock { $0 = false }
        }
    }
}
