import Foundation
@testable import HSDB
import HSDBTestSupport
import XCTest

/// Graphs come from merges (DESIGN.md, "Compaction"): with compaction on, a flush writes no
/// graph, and segments without one are merged into the largest segment with one once they
/// hold enough points; merges drop only what is dead at the flushed LSN.
final class IndexingMergeTests: XCTestCase {
    typealias C = CompactionPolicy.Candidate

    func testPolicyMergesSegmentsWithoutAGraphIntoTheLargestThatHasOne() {
        var p = CompactionPolicy()
        p.basePoints = 1_000_000  // no tier fills: only indexing picks
        let small = C(index: 0, live: 40, total: 40)
        let host = C(index: 1, live: 3_000, total: 3_000, hasGraph: true)
        let other = C(index: 3, live: 500, total: 500, hasGraph: true)
        XCTAssertEqual(p.pick([small, host], minGraphPoints: 100), [], "40 points are too few for a graph")
        let second = C(index: 2, live: 70, total: 90)
        XCTAssertEqual(p.pick([small, host, second, other], minGraphPoints: 100), [0, 2, 1], "the largest host")
        p.maxHostRatio = 20  // 3,000 > 20 x 110: too large to rewrite for 110 points
        XCTAssertEqual(p.pick([small, host, second, other], minGraphPoints: 100), [0, 2, 3])
        p.maxHostRatio = 1
        XCTAssertEqual(p.pick([small, host, second, other], minGraphPoints: 100), [0, 2], "no host: a graph of their own")
        p.maxHostRatio = 32
        p.maxMergedPoints = 100
        XCTAssertEqual(p.pick([small, host, second], minGraphPoints: 10), [0], "at most maxMergedPoints, smallest first")
        XCTAssertEqual(p.pick([C(index: 0, live: 0, total: 40), host], minGraphPoints: 0), [], "a dead segment is not indexed")
        p.enabled = false
        XCTAssertEqual(p.pick([small, host, second], minGraphPoints: 100), [])
    }

    func testFlushedPointsJoinTheGraphOfTheLargestSegment() async throws {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.minGraphPoints = 100
        o.idleFlushAfter = nil
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 16, hnswM: 8, hnswEfConstruction: 40))
        var gen = ClusteredPoints(dimension: 16, clusters: 4, seed: 3)
        var model = EngineModel(metric: .cosine)
        var next = 0
        for (round, size) in [60, 80, 300, 120].enumerated() {
            let batch = (next..<next + size).map { gen.point(UInt64($0)) }
            next += size
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            try await c.flush()
            await c.waitForMaintenance()
            let segments = c.state.withLock { $0.segments }
            let graphs = segments.filter { $0.segment.header.hasGraph }
            switch round {
            case 0: XCTAssertEqual(segments.map(\.count), [60], "too few for a graph: left as flushed")
            case 1: XCTAssertEqual(graphs.map(\.count), [140], "60 + 80 points: enough for a graph, merged into one")
            default: XCTAssertEqual(graphs.map(\.count), [next], "round \(round): every point in the one graph")
            }
            XCTAssertEqual(segments.count, graphs.count + segments.filter { !$0.segment.header.hasGraph }.count)
            try model.check(c, queries: (0..<5).map { _ in gen.vector() })
        }
        XCTAssertEqual(c.statistics().segments, 1)
        try await db.close()
    }

    /// A merge keeps a point that a write still in the memtable deleted: the manifest it is
    /// published with pairs the segments with the WAL after the flushed LSN, so a restore or a
    /// follower starting there must find the point (the backup test that found it restored a
    /// collection to an LSN between the flush and the delete, and the point was gone).
    func testAMergeKeepsPointsDeletedAfterTheFlushedLSN() async throws {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        o.idleFlushAfter = nil
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 16))
        var gen = ClusteredPoints(dimension: 16, clusters: 2, seed: 4)
        try await c.upsert((0..<30).map { gen.point($0) })
        try await c.flush()
        try await c.upsert((30..<50).map { gen.point($0) })
        try await c.flush()
        try await c.delete(ids: [.integer(5)])
        try await c.compact()
        var ids = c.state.withLock { $0.segments.flatMap { h in (0..<h.count).map { h.segment.id(at: $0) } } }
        XCTAssertEqual(ids.count, 50, "the deleted point stays in the merged segment until its delete is flushed")
        XCTAssertNil(try c.get(ids: [.integer(5)]).first, "and stays invisible")
        try await c.flush()
        try await c.compact()
        ids = c.state.withLock { $0.segments.flatMap { h in (0..<h.count).map { h.segment.id(at: $0) } } }
        XCTAssertEqual(ids.count, 49)
        XCTAssertFalse(ids.contains(.integer(5)))
        try await db.close()
    }
}
