import Foundation
import Logging
import LuaRuntime
@testable import Pipeline
import Store
import Testing

@Suite struct BackoffTests {
    let policy = FlowDefinition.RetryPolicy(maxAttempts: 5, baseDelayMilliseconds: 100, maxDelayMilliseconds: 1000, maxAgeSeconds: 60)

    @Test func fullJitterStaysUnderTheCappedExponential() {
        let backoff = Backoff(policy: policy)
        for attempt in 1...8 {
            let cap = min(1000.0, 100 * pow(2, Double(attempt - 1))) / 1000
            #expect(backoff.delay(afterAttempt: attempt, random: { $0.upperBound }) == cap)
            #expect(backoff.delay(afterAttempt: attempt, random: { $0.lowerBound }) == 0)
            for _ in 0..<50 { #expect((0...cap).contains(backoff.delay(afterAttempt: attempt))) }
        }
    }

    @Test func givesUpAfterMaxAttemptsMaxAgeOrAPermanentFailure() {
        let backoff = Backoff(policy: policy)
        let accepted = Date(timeIntervalSince1970: 1_000)
        #expect(backoff.next(after: 4, failure: .retryable, acceptedAt: accepted, now: accepted) != nil)
        #expect(backoff.next(after: 5, failure: .retryable, acceptedAt: accepted, now: accepted) == nil)
        #expect(backoff.next(after: 1, failure: .permanent, acceptedAt: accepted, now: accepted) == nil)
        #expect(backoff.next(after: 1, failure: .retryable, acceptedAt: accepted, now: accepted.addingTimeInterval(61)) == nil)
        // A deferral ignores the attempt count (nothing was attempted) but not the flow's maximum age.
        #expect(backoff.next(after: 99, failure: .deferred, acceptedAt: accepted, now: accepted, retryAfter: 5) == accepted.addingTimeInterval(5))
        #expect(backoff.next(after: 1, failure: .deferred, acceptedAt: accepted, now: accepted.addingTimeInterval(58), retryAfter: 5) == nil)
    }

    @Test func classifiesErrors() {
        #expect(FailureClass.of(LuaError(kind: .runtime, message: "x", retryable: true)) == .retryable)
        #expect(FailureClass.of(LuaError(kind: .runtime, message: "x", retryable: false)) == .permanent)
        #expect(FailureClass.of(LuaError(kind: .runtime, message: "x")) == .permanent)
        #expect(FailureClass.of(LuaError(kind: .cpu, message: "x", retryable: true)) == .permanent)
        #expect(FailureClass.of(LuaError(kind: .runtime, message: "x", retryable: true, deferred: true)) == .deferred)
    }
}

/// FlowWorker against a real store and real Lua plugins.
@Suite struct FlowWorkerTests {
    /// A flow `test-source` → `test-map` → `test-sink` whose sink fails as the event asks:
    /// `fail_until` = attempts that fail retryably; `permanent` = fail permanently; `sleep_ms` = slow partner.
    static func fixture(concurrency: Int = 4) throws -> (FlowDefinition, PluginDirectory, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString)")
        func write(_ path: String, _ text: String) throws {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try write("test-source/plugin.lua", """
            local json = require("json")
            return { kind = "source", decode = function(payload)
              local body = json.decode(payload)
              return { { type = body.type, data = body } }
            end }
            """)
        try write("test-map/plugin.lua", """
            return { kind = "mapping", map = function(event) return event.data end }
            """)
        try write("test-sink/plugin.lua", """
            local conflux, time = require("conflux"), require("time")
            return { kind = "connector", deliver = function(op, ctx)
              if op.sleep_ms then time.sleep(op.sleep_ms) end
              if op.permanent then error(conflux.permanent("partner rejected: " .. op.permanent)) end
              if op.fail_until and ctx.attempt <= op.fail_until then error(conflux.retryable("partner busy")) end
              return { ok = true }
            end }
            """)
        let flow = FlowDefinition(
            name: "test-flow", description: "",
            source: .init(plugin: "test-source", contentTypes: ["application/json"], maxBodyBytes: 65536, idempotencyHeaders: [], orderingKey: "/key"),
            routes: [.init(event: "thing.happened", mappings: ["test-map"], connector: "test-sink")],
            concurrency: concurrency,
            retry: .init(maxAttempts: 4, baseDelayMilliseconds: 5, maxDelayMilliseconds: 20, maxAgeSeconds: 600),
            file: "test")
        let limits = try SandboxProfile.load(named: "production", from: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("sandbox/profiles")).limits
        return (flow, PluginDirectory(folder: folder, limits: limits, logger: Logger(label: "test")), folder)
    }

    static func message(_ n: Int, _ fields: String, key: String? = nil) -> NewMessage {
        NewMessage(id: "m\(n)", source: "test-source", orderingKey: key, correlationId: "c\(n)", contentType: "application/json",
                   body: Array(#"{"type":"thing.happened","n":\#(n)\#(fields)}"#.utf8), acceptedAt: Date())
    }

    /// Runs the worker until `done` says so (or 20 s pass).
    static func run(_ worker: FlowWorker, until done: @escaping @Sendable () async throws -> Bool) async throws {
        let task = Task { await worker.run() }
        let deadline = Date().addingTimeInterval(20)
        while try await !done(), Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        await worker.stop()
        await task.value
    }

    @Test func deliversRetriesAndDeadLetters() async throws {
        let (flow, plugins, folder) = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = MemoryMessageStore()
        _ = try await store.enqueue([Self.message(1, ""), Self.message(2, #","fail_until":2"#), Self.message(3, #","permanent":"no such product""#),
                                     Self.message(4, #","fail_until":9"#)])
        let worker = FlowWorker(flow: flow, store: store, plugins: plugins, owner: "t", logger: Logger(label: "test"))
        try await Self.run(worker) {
            let counts = try await store.counts()
            return (counts[.done] ?? 0) + (counts[.dead] ?? 0) == 4
        }
        #expect(try await store.message(id: "m1")?.status == .done)
        #expect(try await store.attempts(id: "m1").map(\.outcome) == [.succeeded])
        #expect(try await store.attempts(id: "m2").map(\.outcome) == [.retry, .retry, .succeeded])
        let permanent = try await store.attempts(id: "m3")
        #expect(permanent.map(\.outcome) == [.dead])
        #expect(permanent.first?.errorMessage?.contains("partner rejected: no such product") == true)
        #expect(permanent.first?.errorKind == "permanent:runtime")
        // Retryable until the policy's 4 attempts run out.
        #expect(try await store.attempts(id: "m4").map(\.outcome) == [.retry, .retry, .retry, .dead])
        #expect(try await store.message(id: "m4")?.correlationId == "c4")
    }

    @Test func keepsOrderPerKeyUnderConcurrencyAndRetries() async throws {
        let (flow, plugins, folder) = try Self.fixture(concurrency: 8)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = MemoryMessageStore()
        var batch: [NewMessage] = []
        for n in 0..<60 {
            // Every fifth message fails once; the slow ones take a few ms: order must still hold per key.
            let extra = (n % 5 == 0 ? #","fail_until":1"# : "") + #","sleep_ms":\#(n % 3)"#
            batch.append(Self.message(n, extra, key: "k\(n % 4)"))
        }
        _ = try await store.enqueue(batch)
        let worker = FlowWorker(flow: flow, store: store, plugins: plugins, owner: "t", logger: Logger(label: "test"))
        try await Self.run(worker) { try await store.counts()[.done] == 60 }
        #expect(try await store.counts()[.done] == 60)
        for key in 0..<4 {
            var previousFinish = Date.distantPast
            for n in stride(from: key, to: 60, by: 4) {
                let attempts = try await store.attempts(id: "m\(n)")
                let firstStart = try #require(attempts.first?.startedAt)
                // Each message of a key starts only after the previous one of that key finished for good.
                #expect(firstStart >= previousFinish, "m\(n) started before its predecessor finished")
                previousFinish = try #require(attempts.last?.finishedAt)
            }
        }
    }
}
