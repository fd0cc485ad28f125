@testable import Egress
import Testing

/// The rate limiter's arithmetic, with time passed in.
@Suite struct TokenBucketTests {
    let start = ContinuousClock.now

    @Test func aBurstGoesAtOnceThenWaitersAreSpacedByTheRate() {
        var bucket = TokenBucket(RateLimit(perSecond: 20, burst: 2), now: start)
        #expect(bucket.take(at: start, maxWait: .seconds(1)) == .now)
        #expect(bucket.take(at: start, maxWait: .seconds(1)) == .now)
        // Each further request reserves the next token: 50 ms apart, not all woken together at 50 ms.
        #expect(bucket.take(at: start, maxWait: .seconds(1)) == .after(.milliseconds(50)))
        #expect(bucket.take(at: start, maxWait: .seconds(1)) == .after(.milliseconds(100)))
        #expect(bucket.available(at: start) == 0)
    }

    @Test func aWaitPastTheBoundIsRefusedWithTheTimeUntilAToken() {
        var bucket = TokenBucket(RateLimit(perSecond: 2, burst: 1), now: start)
        #expect(bucket.take(at: start, maxWait: .milliseconds(100)) == .now)
        #expect(bucket.take(at: start, maxWait: .milliseconds(100)) == .refused(retryAfter: .milliseconds(500)))
        // The refusal reserved nothing: 400 ms later the same request waits only the remaining 100 ms.
        #expect(bucket.take(at: start + .milliseconds(400), maxWait: .milliseconds(100)) == .after(.milliseconds(100)))
    }

    @Test func tokensRefillUpToTheBurstAndAGivenBackTokenIsFreeAgain() {
        var bucket = TokenBucket(RateLimit(perSecond: 10, burst: 3), now: start)
        for _ in 0..<3 { #expect(bucket.take(at: start, maxWait: .zero) == .now) }
        #expect(bucket.available(at: start + .milliseconds(150)) == 1.5)
        #expect(bucket.available(at: start + .seconds(60)) == 3)

        var waiting = TokenBucket(RateLimit(perSecond: 1, burst: 1), now: start)
        #expect(waiting.take(at: start, maxWait: .seconds(5)) == .now)
        #expect(waiting.take(at: start, maxWait: .seconds(5)) == .after(.seconds(1)))
        waiting.giveBack(at: start)
        #expect(waiting.take(at: start, maxWait: .seconds(5)) == .after(.seconds(1)))
    }

    @Test func burstDefaultsToOneSecondsWorth() {
        #expect(RateLimit(perSecond: 20).burst == 20)
        #expect(RateLimit(perSecond: 0.5).burst == 1)
        #expect(RateLimit(perSecond: 2.5).burst == 3)
    }
}
