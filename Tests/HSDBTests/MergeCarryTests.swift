import Foundation
@testable import HSDB
import HSDBTestSupport
import Index
import XCTest

/// Which graph a merge starts from (DESIGN.md, "Compaction"): the input carrying the most
/// points, renumbered to the merged ordinals, unless it loses more than a tenth of its nodes
/// or carrying is turned off.
final class MergeCarryTests: XCTestCase {
    func segments(deletingFromLarger deleted: Int) async throws -> (Database, [SegmentHandle], UInt64) {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.minGraphPoints = 50
        o.compaction.enabled = false
        o.idleFlushAfter = nil
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 16))
        var gen = ClusteredPoints(dimension: 16, clusters: 4, seed: 8)
        try await c.upsert((0..<400).map { gen.point($0 * 2) })  // even ids: the larger input
        try await c.flush()
        try await c.upsert((0..<150).map { gen.point($0 * 2 + 1) })  // odd ids
        try await c.flush()
        if deleted > 0 { try await c.delete(ids: (0..<UInt64(deleted)).map { .integer($0 * 2) }) }
        return (db, c.state.withLock { $0.segments }, c.appliedLSN)
    }

    func testTheLargerInputsGraphIsCarriedRenumbered() async throws {
        let (db, inputs, lsn) = try await segments(deletingFromLarger: 20)  // 5% of it
        let larger = try XCTUnwrap(inputs.first { $0.count == 400 })
        let source = MergeSource(inputs: inputs, lsn: lsn, dimension: 16, sparseNames: [])
        let carried: (Int, [UInt32])? = source.withCarriedGraph(m: 16, lane: 0) { c in c.map { ($0.graph.count, $0.newNode) } }
        let (count, newNode) = try XCTUnwrap(carried, "the larger input's graph is carried")
        XCTAssertEqual(count, 400)
        XCTAssertEqual(newNode.filter { $0 == CarriedGraph.dropped }.count, 20, "deleted points are dropped")
        for (old, new) in newNode.enumerated() where new != CarriedGraph.dropped {
            XCTAssertEqual(source.id(Int(new)), larger.segment.id(at: old), "node \(old) renumbered to its merged ordinal")
        }
        XCTAssertNil(source.withCarriedGraph(m: 8, lane: 0) { $0?.graph.count }, "another M: built from nothing")
        var off = source
        off.carriesGraph = false
        XCTAssertNil(off.withCarriedGraph(m: 16, lane: 0) { $0?.graph.count })
        try await db.close()
    }

    func testAnInputLosingMoreThanATenthIsNotCarried() async throws {
        let (db, inputs, lsn) = try await segments(deletingFromLarger: 60)  // 15% of the larger
        let source = MergeSource(inputs: inputs, lsn: lsn, dimension: 16, sparseNames: [])
        // The smaller input loses nothing, so its graph is the one carried.
        XCTAssertEqual(source.withCarriedGraph(m: 16, lane: 0) { $0?.graph.count }, 150)
        try await db.close()
    }
}
