import Foundation
@testable import HSDB
import HSDBTestSupport
import XCTest

/// A memtable that stops taking writes is flushed once it holds enough points to be worth a
/// segment (DatabaseOptions.idleFlushAfter), invisibly to searches; a small one stays.
final class IdleFlushTests: XCTestCase {
    func options(minimum: Int) -> DatabaseOptions {
        var o = DatabaseOptions()
        o.idleFlushAfter = .milliseconds(50)
        o.idleFlushPoints = minimum
        o.compaction.enabled = false
        return o
    }

    /// Polls `condition` until it holds (every 10 ms, up to 30 s: CI machines are slow).
    func eventually(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { return XCTFail("never: \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func testIdleMemtableIsFlushedAndSearchesDoNotChange() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self), options: options(minimum: 300))
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 32))
        var gen = ClusteredPoints(dimension: 32, clusters: 8, seed: 3)
        try await c.upsert((0..<400).map { gen.point($0) })
        try await c.delete(ids: [.integer(7)])
        let queries = (0..<10).map { _ in gen.vector() }
        let before = try queries.map { try c.search($0, limit: 5, parameters: SearchParameters(exact: true)).map(\.id) }
        try await eventually("the idle memtable is flushed") { c.statistics().flushes == 1 }
        await c.waitForMaintenance()
        let stats = c.statistics()
        XCTAssertEqual(stats.segments, 1)
        XCTAssertEqual(stats.points, 399)
        XCTAssertEqual(stats.memtableBytes, 0)
        let after = try queries.map { try c.search($0, limit: 5, parameters: SearchParameters(exact: true)).map(\.id) }
        XCTAssertEqual(before, after)
        try await db.close()
    }

    func testSmallMemtableStays() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self), options: options(minimum: 300))
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 32))
        var gen = ClusteredPoints(dimension: 32, clusters: 8, seed: 4)
        try await c.upsert((0..<200).map { gen.point($0) })
        // Several looks at an idle memtable below the minimum: no flush.
        let seen = c.idleChecks.load(ordering: .acquiring)
        try await eventually("the watcher looks three times") { c.idleChecks.load(ordering: .acquiring) >= seen + 3 }
        XCTAssertEqual(c.statistics().flushes, 0)
        try await db.close()
    }

    /// The decision itself, looked at by hand (no watcher): a write between two looks keeps
    /// the memtable; two looks at the same LSN flush it.
    func testOnlyTwoLooksAtTheSameLSNFlush() async throws {
        var o = options(minimum: 100)
        o.idleFlushAfter = nil
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 32))
        var gen = ClusteredPoints(dimension: 32, clusters: 8, seed: 6)
        try await c.upsert((0..<150).map { gen.point($0) })
        var seen = c.flushIfIdle(since: nil)
        for id in 150..<160 {
            try await c.upsert([gen.point(UInt64(id))])
            seen = c.flushIfIdle(since: seen)
            XCTAssertFalse(c.maintenanceRunning)
        }
        await c.waitForMaintenance()
        XCTAssertEqual(c.statistics().flushes, 0)
        c.flushIfIdle(since: seen)
        await c.waitForMaintenance()
        XCTAssertEqual(c.statistics().flushes, 1)
        XCTAssertEqual(c.statistics().segmentPoints, 160)
        try await db.close()
    }

    /// A collection's own threshold (`setIdleFlushPoints`, Qdrant's `indexing_threshold`)
    /// replaces the database's: below the database's minimum, it flushes; cleared, it stays.
    func testCollectionThresholdOverridesTheDatabases() async throws {
        var o = options(minimum: 1000)
        o.idleFlushAfter = nil
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 32))
        var gen = ClusteredPoints(dimension: 32, clusters: 8, seed: 9)
        try await c.upsert((0..<20).map { gen.point($0) })
        c.flushIfIdle(since: c.flushIfIdle(since: nil))
        await c.waitForMaintenance()
        XCTAssertEqual(c.statistics().flushes, 0, "20 points are below the database's 1,000")
        c.setIdleFlushPoints(10)
        c.flushIfIdle(since: c.flushIfIdle(since: nil))
        await c.waitForMaintenance()
        XCTAssertEqual(c.statistics().flushes, 1)
        c.setIdleFlushPoints(nil)
        try await c.upsert((20..<40).map { gen.point($0) })
        c.flushIfIdle(since: c.flushIfIdle(since: nil))
        await c.waitForMaintenance()
        XCTAssertEqual(c.statistics().flushes, 1, "cleared: the database's minimum again")
        try await db.close()
    }
}
