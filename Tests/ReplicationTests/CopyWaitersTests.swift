import Synchronization
import XCTest

@testable import Replication

/// The table of writes waiting for followers: met at once, met by a later change, timed out,
/// cancelled; each waiter resumed once.
final class CopyWaitersTests: XCTestCase {
    func testMetNowLaterOrNever() async {
        let waiters = CopyWaiters()
        let durable = Mutex<[String: UInt64]>(["c": 5])
        let met: @Sendable (String, UInt64, Int) -> Bool = { name, lsn, _ in (durable.withLock { $0[name] } ?? 0) >= lsn }
        let now = await waiters.wait(collection: "c", lsn: 5, followers: 1, timeout: .seconds(30), met: met)
        XCTAssertTrue(now)

        let later = Task { await waiters.wait(collection: "c", lsn: 9, followers: 1, timeout: .seconds(30), met: met) }
        let other = Task { await waiters.wait(collection: "d", lsn: 1, followers: 1, timeout: .milliseconds(300), met: met) }
        durable.withLock { $0["c"] = 8 }
        waiters.changed("c", met: met)  // not yet: 8 < 9
        durable.withLock { $0["c"] = 9 }
        waiters.changed("c", met: met)
        let laterMet = await later.value
        XCTAssertTrue(laterMet)
        let otherMet = await other.value
        XCTAssertFalse(otherMet, "nothing acknowledged d: it times out")

        let instant = await waiters.wait(collection: "d", lsn: 1, followers: 1, timeout: .zero, met: met)
        XCTAssertFalse(instant, "a timeout that fires before the waiter registers still ends it")

        let cancelled = Task { await waiters.wait(collection: "d", lsn: 1, followers: 1, timeout: .seconds(30), met: met) }
        cancelled.cancel()
        let cancelledMet = await cancelled.value
        XCTAssertFalse(cancelledMet)
    }
}
