import HSDBCore
import Synchronization
import XCTest

final class BackgroundThreadsTests: XCTestCase {
    /// Each worker runs on its own thread at the nice value asked for; the caller's priority
    /// does not change (Linux keeps nice values per thread).
    func testWorkersRunLoweredAndTheCallerDoesNot() throws {
        #if !os(Linux)
        throw XCTSkip("per-thread nice values are Linux's")
        #else
        let callerBefore = BackgroundThreads.currentNice
        let seen = Mutex<[Int: Int32]>([:])
        BackgroundThreads.run(count: 3, nice: callerBefore + 5, label: "test") { i in
            let nice = BackgroundThreads.currentNice
            seen.withLock { $0[i] = nice }
        }
        XCTAssertEqual(seen.withLock { $0 }, [0: callerBefore + 5, 1: callerBefore + 5, 2: callerBefore + 5])
        XCTAssertEqual(BackgroundThreads.currentNice, callerBefore)
        #endif
    }
}
