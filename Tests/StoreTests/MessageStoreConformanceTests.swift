import Foundation
import Store
import StoreSQLite
import Testing

/// The behaviour every `MessageStore` backend must have. Each test runs against every backend.
@Suite struct MessageStoreConformanceTests {
    enum Backend: String, CaseIterable, CustomStringConvertible {
        case memory, sqlite
        var description: String { rawValue }

        func make() throws -> any MessageStore {
            switch self {
            case .memory: return MemoryMessageStore()
            case .sqlite:
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-store-\(UUID().uuidString)/queue.sqlite").path
                return try SQLiteMessageStore(path: path)
            }
        }
    }

    static let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    static func message(_ id: String, key: String? = nil, ordering: String? = nil, source: String = "clinic",
                        at offset: TimeInterval = 0) -> NewMessage {
        NewMessage(id: id, source: source, idempotencyKey: key, orderingKey: ordering, correlationId: "corr-\(id)",
                   contentType: "application/json", body: Array(#"{"id":"\#(id)"}"#.utf8), headers: ["x-partner": "clinic"],
                   acceptedAt: t0.addingTimeInterval(offset))
    }

    static func attempt(_ id: String, _ number: Int, _ outcome: AttemptRecord.Outcome, error: String? = nil) -> AttemptRecord {
        AttemptRecord(messageId: id, number: number, startedAt: t0, finishedAt: t0.addingTimeInterval(1), outcome: outcome,
                      errorKind: error == nil ? nil : "retryable", errorMessage: error)
    }

    @Test(arguments: Backend.allCases)
    func enqueuedMessagesAreStoredWithEverything(backend: Backend) async throws {
        let store = try backend.make()
        let outcomes = try await store.enqueue([Self.message("m1"), Self.message("m2")])
        #expect(outcomes == [.accepted(id: "m1"), .accepted(id: "m2")])
        let stored = try #require(try await store.message(id: "m1"))
        #expect(stored.status == .ready)
        #expect(stored.correlationId == "corr-m1")
        #expect(String(decoding: stored.body, as: UTF8.self) == #"{"id":"m1"}"#)
        #expect(stored.headers == ["x-partner": "clinic"])
        #expect(stored.acceptedAt == Self.t0)
        let second = try #require(try await store.message(id: "m2"))
        #expect(second.sequence > stored.sequence)
    }

    @Test(arguments: Backend.allCases)
    func aRepeatedIdempotencyKeyIsADuplicateOfTheFirst(backend: Backend) async throws {
        let store = try backend.make()
        let first = try await store.enqueue([Self.message("m1", key: "wh_1"), Self.message("m2", key: "wh_1")])
        #expect(first == [.accepted(id: "m1"), .duplicate(firstId: "m1")])
        let later = try await store.enqueue([Self.message("m3", key: "wh_1"), Self.message("m4", key: "wh_1", source: "payments")])
        #expect(later == [.duplicate(firstId: "m1"), .accepted(id: "m4")])
        #expect(try await store.message(id: "m2") == nil)
        #expect(try await store.counts()[.ready] == 2)
    }

    @Test(arguments: Backend.allCases)
    func leasesOldestFirstUpToTheLimitAndNotTwice(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue((1...5).map { Self.message("m\($0)") })
        let first = try await store.lease(owner: "w1", limit: 3, duration: 30, now: Self.t0)
        #expect(first.map(\.id) == ["m1", "m2", "m3"])
        #expect(first.allSatisfy { $0.status == .leased && $0.leaseOwner == "w1" })
        let second = try await store.lease(owner: "w2", limit: 10, duration: 30, now: Self.t0)
        #expect(second.map(\.id) == ["m4", "m5"])
        #expect(try await store.lease(owner: "w3", limit: 10, duration: 30, now: Self.t0).isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func aBatchOfSettlementsAppliesEachOnItsOwn(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue((1...4).map { Self.message("m\($0)") })
        _ = try await store.lease(owner: "w", limit: 3, duration: 30, now: Self.t0)
        let later = Self.t0.addingTimeInterval(90)
        let results = try await store.settle([
            Settlement(id: "m1", owner: "w", disposition: .complete, attempt: Self.attempt("m1", 1, .succeeded)),
            Settlement(id: "m2", owner: "someone-else", disposition: .complete, attempt: Self.attempt("m2", 1, .succeeded)),
            Settlement(id: "m3", owner: "w", disposition: .retry(availableAt: later), attempt: Self.attempt("m3", 1, .retry, error: "503")),
            Settlement(id: "m4", owner: "w", disposition: .deadLetter, attempt: Self.attempt("m4", 1, .dead)),
            Settlement(id: "nope", owner: "w", disposition: .complete, attempt: Self.attempt("nope", 1, .succeeded)),
        ])
        #expect(results == [nil, .leaseLost(id: "m2", owner: "someone-else"), nil, .leaseLost(id: "m4", owner: "w"),
                            .notFound(id: "nope")])
        #expect(try await store.message(id: "m1")?.status == .done)
        #expect(try await store.message(id: "m2")?.status == .leased)
        let retried = try #require(try await store.message(id: "m3"))
        #expect(retried.status == .ready && retried.availableAt == later && retried.attempts == 1 && retried.lastError == "503")
        #expect(try await store.message(id: "m4")?.status == .ready)
        #expect(try await store.attempts(id: "m2").isEmpty)
        #expect(try await store.attempts(id: "m3").map(\.outcome) == [.retry])
    }

    @Test(arguments: Backend.allCases)
    func openCountsLeaveOutTheDoneMessages(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue((1...4).map { Self.message("m\($0)") })
        _ = try await store.lease(owner: "w", limit: 3, duration: 30, now: Self.t0)
        _ = try await store.settle([Settlement(id: "m1", owner: "w", disposition: .complete, attempt: Self.attempt("m1", 1, .succeeded)),
                                    Settlement(id: "m2", owner: "w", disposition: .deadLetter, attempt: Self.attempt("m2", 1, .dead))])
        #expect(try await store.openCounts() == [.ready: 1, .leased: 1, .dead: 1])
        #expect(try await store.counts() == [.ready: 1, .leased: 1, .dead: 1, .done: 1])
    }

    @Test(arguments: Backend.allCases)
    func aDeferralReturnsTheMessageWithoutSpendingAnAttempt(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue([Self.message("m1")])
        _ = try await store.lease(owner: "w", limit: 1, duration: 30, now: Self.t0)
        let later = Self.t0.addingTimeInterval(30)
        let results = try await store.settle([Settlement(id: "m1", owner: "w", disposition: .deferred(availableAt: later),
                                                         attempt: Self.attempt("m1", 1, .retry, error: "circuit open"))])
        #expect(results == [nil])
        let deferred = try #require(try await store.message(id: "m1"))
        #expect(deferred.status == .ready && deferred.attempts == 0 && deferred.availableAt == later && deferred.lastError == "circuit open")
        #expect(try await store.attempts(id: "m1").isEmpty)
        #expect(try await store.lease(owner: "w", limit: 1, duration: 30, now: Self.t0).isEmpty)
        #expect(try await store.lease(owner: "w", limit: 1, duration: 30, now: later).map(\.id) == ["m1"])
    }

    @Test(arguments: Backend.allCases)
    func messagesOfOneOrderingKeyGoOneAtATimeInOrder(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue([Self.message("a1", ordering: "apt-1"), Self.message("b1", ordering: "apt-2"),
                                     Self.message("a2", ordering: "apt-1"), Self.message("n1")])
        let first = try await store.lease(owner: "w", limit: 10, duration: 30, now: Self.t0)
        #expect(first.map(\.id) == ["a1", "b1", "n1"])
        #expect(try await store.lease(owner: "w", limit: 10, duration: 30, now: Self.t0).isEmpty)
        try await store.complete(id: "a1", owner: "w", attempt: Self.attempt("a1", 1, .succeeded))
        #expect(try await store.lease(owner: "w", limit: 10, duration: 30, now: Self.t0).map(\.id) == ["a2"])
    }

    @Test(arguments: Backend.allCases)
    func aRetryWaitsForItsBackoffAndHoldsBackItsKey(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue([Self.message("a1", ordering: "k"), Self.message("a2", ordering: "k")])
        _ = try await store.lease(owner: "w", limit: 10, duration: 30, now: Self.t0)
        try await store.retry(id: "a1", owner: "w", availableAt: Self.t0.addingTimeInterval(60),
                              attempt: Self.attempt("a1", 1, .retry, error: "partner answered 503"))
        // Neither a1 (backing off) nor a2 (behind a1) may go yet.
        #expect(try await store.lease(owner: "w", limit: 10, duration: 30, now: Self.t0.addingTimeInterval(30)).isEmpty)
        let later = try await store.lease(owner: "w", limit: 10, duration: 30, now: Self.t0.addingTimeInterval(61))
        #expect(later.map(\.id) == ["a1"])
        #expect(later.first?.attempts == 1)
        #expect(later.first?.lastError == "partner answered 503")
    }

    @Test(arguments: Backend.allCases)
    func anExpiredLeaseIsTakenBackAndTheOldOwnerLosesIt(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue([Self.message("m1")])
        _ = try await store.lease(owner: "crashed", limit: 1, duration: 10, now: Self.t0)
        #expect(try await store.lease(owner: "w2", limit: 1, duration: 10, now: Self.t0.addingTimeInterval(5)).isEmpty)
        let retaken = try await store.lease(owner: "w2", limit: 1, duration: 10, now: Self.t0.addingTimeInterval(11))
        #expect(retaken.map(\.id) == ["m1"])
        await #expect(throws: StoreError.leaseLost(id: "m1", owner: "crashed")) {
            try await store.complete(id: "m1", owner: "crashed", attempt: Self.attempt("m1", 1, .succeeded))
        }
        try await store.complete(id: "m1", owner: "w2", attempt: Self.attempt("m1", 1, .succeeded))
        #expect(try await store.message(id: "m1")?.status == .done)
    }

    @Test(arguments: Backend.allCases)
    func heartbeatsExtendALease(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue([Self.message("m1")])
        _ = try await store.lease(owner: "w", limit: 1, duration: 10, now: Self.t0)
        try await store.heartbeat(ids: ["m1"], owner: "w", until: Self.t0.addingTimeInterval(100))
        #expect(try await store.lease(owner: "other", limit: 1, duration: 10, now: Self.t0.addingTimeInterval(50)).isEmpty)
        await #expect(throws: StoreError.leaseLost(id: "m1", owner: "other")) {
            try await store.heartbeat(ids: ["m1"], owner: "other", until: Self.t0.addingTimeInterval(200))
        }
    }

    @Test(arguments: Backend.allCases)
    func deadLettersKeepTheirHistoryAndReplayKeepsTheId(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue([Self.message("m1"), Self.message("m2")])
        _ = try await store.lease(owner: "w", limit: 2, duration: 30, now: Self.t0)
        try await store.retry(id: "m1", owner: "w", availableAt: Self.t0, attempt: Self.attempt("m1", 1, .retry, error: "timeout"))
        _ = try await store.lease(owner: "w", limit: 1, duration: 30, now: Self.t0)
        try await store.deadLetter(id: "m1", owner: "w", attempt: Self.attempt("m1", 2, .dead, error: "ValidationError: no partner"))
        #expect(try await store.list(MessageFilter(status: .dead)).map(\.id) == ["m1"])
        let history = try await store.attempts(id: "m1")
        #expect(history.map(\.outcome) == [.retry, .dead])
        #expect(history.last?.errorMessage == "ValidationError: no partner")

        #expect(try await store.replay(ids: ["m1", "m2", "nope"], now: Self.t0) == ["m1"])
        let replayed = try #require(try await store.message(id: "m1"))
        #expect(replayed.status == .ready)
        #expect(replayed.correlationId == "corr-m1")
        #expect(try await store.attempts(id: "m1").count == 2)
        // A fresh retry budget: the policy counts attempts and age from the replay.
        #expect(replayed.retryBase == 2 && replayed.attempts == 2)
        #expect(replayed.retrySince == Self.t0)
    }

    @Test(arguments: Backend.allCases)
    func purgeRemovesOnlyDeadLetters(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue([Self.message("m1"), Self.message("m2")])
        _ = try await store.lease(owner: "w", limit: 1, duration: 30, now: Self.t0)
        try await store.deadLetter(id: "m1", owner: "w", attempt: Self.attempt("m1", 1, .dead, error: "permanent"))
        #expect(try await store.purge(ids: ["m1", "m2"]) == ["m1"])
        #expect(try await store.message(id: "m1") == nil)
        #expect(try await store.attempts(id: "m1").isEmpty)
        #expect(try await store.message(id: "m2")?.status == .ready)
    }

    @Test(arguments: Backend.allCases)
    func leasingCanBeLimitedToOneSource(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue([Self.message("c1"), Self.message("p1", source: "payments"), Self.message("c2")])
        let payments = try await store.lease(owner: "w", limit: 10, duration: 30, now: Self.t0, source: "payments")
        #expect(payments.map(\.id) == ["p1"])
        #expect(try await store.lease(owner: "w", limit: 10, duration: 30, now: Self.t0, source: "clinic").map(\.id) == ["c1", "c2"])
    }

    @Test(arguments: Backend.allCases)
    func listingsFilterAndPage(backend: Backend) async throws {
        let store = try backend.make()
        _ = try await store.enqueue((1...6).map { Self.message("m\($0)", source: $0 % 2 == 0 ? "payments" : "clinic") })
        let payments = try await store.list(MessageFilter(source: "payments"))
        #expect(payments.map(\.id) == ["m2", "m4", "m6"])
        let page = try await store.list(MessageFilter(afterSequence: payments[0].sequence, limit: 2))
        #expect(page.map(\.id) == ["m3", "m4"])
    }
}

@Suite struct SQLiteMessageStoreTests {
    @Test func acceptedMessagesSurviveReopeningTheFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-store-\(UUID().uuidString)/queue.sqlite").path
        do {
            let store = try SQLiteMessageStore(path: path)
            _ = try await store.enqueue([MessageStoreConformanceTests.message("m1", key: "k1")])
        }
        let reopened = try SQLiteMessageStore(path: path)
        #expect(try await reopened.message(id: "m1")?.status == .ready)
        #expect(try await reopened.enqueue([MessageStoreConformanceTests.message("m9", key: "k1")]) == [.duplicate(firstId: "m1")])
    }

    @Test func anUnusablePathIsUnavailableWithTheReason() {
        #expect {
            _ = try SQLiteMessageStore(path: "/proc/conflux/queue.sqlite")
        } throws: { error in
            guard case .unavailable(let reason)? = error as? StoreError else { return false }
            return reason.contains("/proc/conflux/queue.sqlite")
        }
    }
}
