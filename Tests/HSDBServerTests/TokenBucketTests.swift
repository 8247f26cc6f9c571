@testable import HSDBServer
import XCTest

/// Strict mode's rate limiter on a stepped clock: the HTTP tests can only see a bucket run
/// dry, not refill, since refilling takes real minutes.
final class TokenBucketTests: XCTestCase {
    let start = ContinuousClock.now

    func testStartsFullAndRefusesWhatItCannotHold() {
        var bucket = TokenBucket(perMinute: 3, now: start)
        XCTAssertEqual(bucket.consume(4, now: start), .neverFits)
        XCTAssertEqual(bucket.consume(2, now: start), .allowed)
        XCTAssertEqual(bucket.consume(1, now: start), .allowed)
        guard case .retry(let available, let after) = bucket.consume(1, now: start) else { return XCTFail("the bucket should be empty") }
        XCTAssertEqual(available, 0)
        XCTAssertEqual(after, .seconds(20))  // 3 a minute: one token every 20 seconds
    }

    func testRefillsPerMinuteUpToItsCapacity() {
        var bucket = TokenBucket(perMinute: 60, now: start)
        XCTAssertEqual(bucket.consume(60, now: start), .allowed)
        guard case .retry(_, let after) = bucket.consume(2, now: start + .milliseconds(500)) else { return XCTFail("half a token is not two") }
        XCTAssertEqual(after, .seconds(1.5))
        XCTAssertEqual(bucket.consume(2, now: start + .seconds(2)), .allowed)
        // Ten idle minutes refill it only to its capacity.
        XCTAssertEqual(bucket.consume(60, now: start + .seconds(602)), .allowed)
        XCTAssertNotEqual(bucket.consume(1, now: start + .seconds(602)), .allowed)
    }

    func testRefusalTextsAndRetryAfterAreQdrants() throws {
        let never = try XCTUnwrap(StrictModeRateLimits.refusal(.neverFits, .read, cost: 5))
        XCTAssertEqual(never.status, .tooManyRequests)
        XCTAssertEqual(never.message, "Rate limiting exceeded: Read rate limit exceeded, request larger than rate limiter capacity, please try to split your request")
        XCTAssertNil(never.retryAfterSeconds)
        let retry = try XCTUnwrap(StrictModeRateLimits.refusal(.retry(available: 0, retryAfter: .seconds(59.2)), .write, cost: 10))
        XCTAssertEqual(retry.message, "Rate limiting exceeded: Write rate limit exceeded: Operation requires 10 tokens but only 0.0 were available. Retry after 60s")
        XCTAssertEqual(retry.retryAfterSeconds, 60)
    }

    func testAChangedLimitOrAResetStartsAFullBucket() throws {
        let limits = StrictModeRateLimits()
        try limits.consume(2, .read, collection: "c", perMinute: 2, now: start)
        XCTAssertThrowsError(try limits.consume(1, .read, collection: "c", perMinute: 2, now: start))
        try limits.consume(1, .write, collection: "c", perMinute: 2, now: start)  // writes have their own bucket
        try limits.consume(3, .read, collection: "c", perMinute: 3, now: start)  // a new limit, a new bucket
        limits.reset("c")
        try limits.consume(3, .read, collection: "c", perMinute: 3, now: start)
    }
}
