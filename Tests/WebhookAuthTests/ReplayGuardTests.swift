import Foundation
import Testing
import WebhookAuth

@Suite struct ReplayGuardTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func aRepeatedIDInsideTheWindowIsRefused() {
        let guard_ = ReplayGuard()
        #expect(guard_.window == 600)
        #expect(guard_.firstSeen("msg_1", source: "acme", at: start))
        #expect(!guard_.firstSeen("msg_1", source: "acme", at: start))
        #expect(!guard_.firstSeen("msg_1", source: "acme", at: start.addingTimeInterval(599)))
        #expect(guard_.firstSeen("msg_2", source: "acme", at: start.addingTimeInterval(1)))
    }

    @Test func idsArePerSource() {
        let guard_ = ReplayGuard()
        #expect(guard_.firstSeen("msg_1", source: "acme", at: start))
        #expect(guard_.firstSeen("msg_1", source: "globex", at: start))
        #expect(!guard_.firstSeen("msg_1", source: "globex", at: start))
    }

    @Test func anIDIsForgottenAfterTheWindow() {
        let guard_ = ReplayGuard(window: 60)
        #expect(guard_.firstSeen("msg_1", source: "acme", at: start))
        #expect(guard_.firstSeen("msg_other", source: "acme", at: start.addingTimeInterval(30)))
        #expect(!guard_.firstSeen("msg_1", source: "acme", at: start.addingTimeInterval(59.9)))
        #expect(guard_.firstSeen("msg_1", source: "acme", at: start.addingTimeInterval(60)))
        #expect(!guard_.firstSeen("msg_1", source: "acme", at: start.addingTimeInterval(61)))
        #expect(guard_.count == 2)
        // At +90 msg_other has expired and is dropped from memory; msg_1 (seen afresh at +60) is still remembered.
        #expect(guard_.firstSeen("msg_late", source: "acme", at: start.addingTimeInterval(90)))
        #expect(guard_.count == 2)
        #expect(!guard_.firstSeen("msg_1", source: "acme", at: start.addingTimeInterval(90)))
        #expect(guard_.firstSeen("msg_other", source: "acme", at: start.addingTimeInterval(90)))
    }

    @Test func forgetLetsARetryThrough() {
        let guard_ = ReplayGuard()
        #expect(guard_.firstSeen("msg_1", source: "acme", at: start))
        guard_.forget("msg_1", source: "acme")
        #expect(guard_.firstSeen("msg_1", source: "acme", at: start.addingTimeInterval(5)))
        #expect(!guard_.firstSeen("msg_1", source: "acme", at: start.addingTimeInterval(6)))
    }

    @Test func capacityEvictsTheOldest() {
        let guard_ = ReplayGuard(window: 600, capacity: 3)
        for index in 0..<4 {
            #expect(guard_.firstSeen("msg_\(index)", source: "acme", at: start.addingTimeInterval(Double(index))))
        }
        #expect(guard_.count == 3)
        #expect(!guard_.firstSeen("msg_3", source: "acme", at: start.addingTimeInterval(10)))
        #expect(!guard_.firstSeen("msg_1", source: "acme", at: start.addingTimeInterval(10)))
        // msg_0 was evicted to make room, so its replay is no longer caught here.
        #expect(guard_.firstSeen("msg_0", source: "acme", at: start.addingTimeInterval(10)))
    }

    @Test func manyIDsStayWithinCapacity() {
        let guard_ = ReplayGuard(window: 600, capacity: 1000)
        for index in 0..<20_000 {
            let at = start.addingTimeInterval(Double(index) / 100)
            #expect(guard_.firstSeen("msg_\(index)", source: "acme", at: at))
            if index.isMultiple(of: 3) { guard_.forget("msg_\(index)", source: "acme") }
        }
        #expect(guard_.count <= 1000)
        #expect(!guard_.firstSeen("msg_19999", source: "acme", at: start.addingTimeInterval(200)))
    }

    @Test func checkMapsAReplayToTheReplayedCode() throws {
        let guard_ = ReplayGuard()
        let verified = WebhookAuthenticator.Verified(webhookID: "msg_1", timestamp: start)
        #expect(try guard_.check(verified, source: "acme", at: start).get() == verified)
        let result = guard_.check(verified, source: "acme", at: start.addingTimeInterval(1))
        guard case let .failure(failure) = result else {
            Issue.record("a replay passed")
            return
        }
        #expect(failure.code == .replayed)
        #expect(failure.code.rawValue == "replayed")
        #expect(failure.header == "webhook-id")

        let noID = WebhookAuthenticator.Verified(webhookID: nil, timestamp: start)
        #expect(try guard_.check(noID, source: "acme", at: start).get() == noID)
        #expect(try guard_.check(noID, source: "acme", at: start).get() == noID)
    }

    @Test func concurrentCallersSeeEachIDOnce() async {
        let guard_ = ReplayGuard()
        let start = self.start
        let firsts = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<500).count(where: { guard_.firstSeen("msg_\($0)", source: "acme", at: start) })
                }
            }
            return await group.reduce(0, +)
        }
        #expect(firsts == 500)
    }
}
