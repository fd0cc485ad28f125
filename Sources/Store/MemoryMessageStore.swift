import Foundation

/// An in-memory `MessageStore` for tests: the reference for the semantics every backend must match.
public actor MemoryMessageStore: MessageStore {
    private var messages: [StoredMessage] = []          // in sequence order
    private var indexById: [String: Int] = [:]
    private var keys: [String: String] = [:]            // "source\u{0}key" → first id
    private var history: [String: [AttemptRecord]] = [:]
    private var nextSequence: Int64 = 1

    public init() {}

    public func enqueue(_ batch: [NewMessage]) async throws -> [EnqueueOutcome] {
        var outcomes: [EnqueueOutcome] = []
        for message in batch {
            if let key = message.idempotencyKey, let first = keys[message.source + "\u{0}" + key] {
                outcomes.append(.duplicate(firstId: first))
                continue
            }
            if let key = message.idempotencyKey { keys[message.source + "\u{0}" + key] = message.id }
            indexById[message.id] = messages.count
            messages.append(StoredMessage(
                sequence: nextSequence, id: message.id, source: message.source, idempotencyKey: message.idempotencyKey,
                orderingKey: message.orderingKey, correlationId: message.correlationId, contentType: message.contentType,
                body: message.body, headers: message.headers, status: .ready, attempts: 0, availableAt: message.acceptedAt,
                leaseOwner: nil, leaseExpiresAt: nil, acceptedAt: message.acceptedAt, updatedAt: message.acceptedAt,
                lastError: nil))
            nextSequence += 1
            outcomes.append(.accepted(id: message.id))
        }
        return outcomes
    }

    public func lease(owner: String, limit: Int, duration: TimeInterval, now: Date, source: String?) async throws -> [StoredMessage] {
        for index in messages.indices where messages[index].status == .leased && (messages[index].leaseExpiresAt ?? now) <= now {
            messages[index].status = .ready
            messages[index].leaseOwner = nil
            messages[index].leaseExpiresAt = nil
        }
        var blockedKeys = Set<String>()
        for message in messages where message.status == .leased {
            if let key = message.orderingKey { blockedKeys.insert(key) }
        }
        var leased: [StoredMessage] = []
        for index in messages.indices where leased.count < limit {
            let message = messages[index]
            guard message.status == .ready else { continue }
            if let source, message.source != source { continue }
            if let key = message.orderingKey {
                // Only the oldest unfinished message of a key may go, and only when none of the key is in flight.
                if blockedKeys.contains(key) { continue }
                blockedKeys.insert(key)
            }
            guard message.availableAt <= now else { continue }
            messages[index].status = .leased
            messages[index].leaseOwner = owner
            messages[index].leaseExpiresAt = now.addingTimeInterval(duration)
            messages[index].updatedAt = now
            leased.append(messages[index])
        }
        return leased
    }

    public func heartbeat(ids: [String], owner: String, until: Date) async throws {
        for id in ids {
            let index = try leasedIndex(id, owner)
            messages[index].leaseExpiresAt = until
        }
    }

    public func settle(_ settlements: [Settlement]) async throws -> [StoreError?] {
        settlements.map { settlement in
            do {
                try finish(settlement.id, settlement.owner, settlement.attempt, status: settlement.disposition.status,
                           availableAt: settlement.disposition.availableAt, counts: settlement.disposition.countsAsAttempt)
                return nil
            } catch let error as StoreError {
                return error
            } catch {
                return .unavailable("\(error)")
            }
        }
    }

    public func message(id: String) async throws -> StoredMessage? {
        indexById[id].map { messages[$0] }
    }

    public func attempts(id: String) async throws -> [AttemptRecord] { history[id] ?? [] }

    public func list(_ filter: MessageFilter) async throws -> [StoredMessage] {
        Array(messages.lazy.filter { message in
            (filter.status == nil || message.status == filter.status)
                && (filter.source == nil || message.source == filter.source)
                && (filter.afterSequence == nil || message.sequence > filter.afterSequence!)
        }.prefix(filter.limit))
    }

    public func openCounts() async throws -> [MessageStatus: Int] {
        try await counts().filter { $0.key != .done }
    }

    public func counts() async throws -> [MessageStatus: Int] {
        var counts: [MessageStatus: Int] = [:]
        for message in messages { counts[message.status, default: 0] += 1 }
        return counts
    }

    public func replay(ids: [String], now: Date) async throws -> [String] {
        var replayed: [String] = []
        for id in ids {
            guard let index = indexById[id], messages[index].status == .dead else { continue }
            messages[index].status = .ready
            messages[index].availableAt = now
            messages[index].updatedAt = now
            messages[index].retryBase = messages[index].attempts
            messages[index].retrySince = now
            replayed.append(id)
        }
        return replayed
    }

    public func purge(ids: [String]) async throws -> [String] {
        let doomed = Set(ids.filter { id in indexById[id].map { messages[$0].status == .dead } ?? false })
        messages.removeAll { doomed.contains($0.id) }
        for id in doomed { history[id] = nil }
        indexById = Dictionary(uniqueKeysWithValues: messages.enumerated().map { ($1.id, $0) })
        return ids.filter(doomed.contains)
    }

    private func leasedIndex(_ id: String, _ owner: String) throws -> Int {
        guard let index = indexById[id] else { throw StoreError.notFound(id: id) }
        guard messages[index].status == .leased, messages[index].leaseOwner == owner else {
            throw StoreError.leaseLost(id: id, owner: owner)
        }
        return index
    }

    private func finish(_ id: String, _ owner: String, _ attempt: AttemptRecord, status: MessageStatus,
                        availableAt: Date?, counts: Bool) throws {
        let index = try leasedIndex(id, owner)
        messages[index].status = status
        messages[index].leaseOwner = nil
        messages[index].leaseExpiresAt = nil
        messages[index].lastError = attempt.errorMessage
        if let availableAt { messages[index].availableAt = availableAt }
        guard counts else { return }
        messages[index].attempts += 1
        messages[index].leaseOwner = nil
        messages[index].leaseExpiresAt = nil
        messages[index].updatedAt = attempt.finishedAt
        messages[index].lastError = attempt.errorMessage
        if let availableAt { messages[index].availableAt = availableAt }
        history[id, default: []].append(attempt)
    }
}
