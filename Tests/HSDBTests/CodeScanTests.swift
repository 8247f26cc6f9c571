import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// Segments at or below `codeScanPoints` are searched by the native code scan, larger ones by
/// their graph walked by the estimator (DESIGN.md, "Search"). Both must keep what search
/// promises: no deleted or overwritten point comes back, scores are exact distances, and a
/// filter holds.
final class CodeScanTests: XCTestCase {
    func options(graphs: Bool = false) -> DatabaseOptions {
        var o = DatabaseOptions()
        if graphs { o.codeScanPoints = 0 }
        o.memtableFlushBytes = 1 << 30
        o.minGraphPoints = 200
        o.filterExactScanPoints = 10  // so the filtered search below scans codes under its mask
        o.compaction.enabled = false
        return o
    }

    func testCodeScanReturnsOnlyLivePointsWithExactScores() async throws { try await checkSearches(graphs: false) }

    func testGraphByEstimateReturnsOnlyLivePointsWithExactScores() async throws { try await checkSearches(graphs: true) }

    func checkSearches(graphs: Bool) async throws {
        let path = temporaryDatabasePath(self)
        let dimension = 256  // binary traversal (x16) is the default from 256 dimensions
        var gen = ClusteredPoints(dimension: dimension, clusters: 8, seed: 31)
        var model = EngineModel(metric: .cosine)
        var db = try await Database.open(at: path, options: options(graphs: graphs))
        var c = try await db.createCollection("c", config: CollectionConfig(dimension: dimension, hnswM: 8, hnswEfConstruction: 40))
        let initial = (0..<1500).map { gen.point(UInt64($0)) }
        model.upsert(initial, lsn: try await c.upsert(initial).lsn)
        try await c.flush()
        XCTAssertEqual(c.statistics().segments, 1)
        // Overwrite and delete flushed points: their segment ordinals are shadowed.
        let overwritten = gen.batch(150, below: 1500)
        model.upsert(overwritten, lsn: try await c.upsert(overwritten).lsn)
        let deleted = (0..<150).map { _ in PointID.integer(gen.rng.next() % 1500) }
        try await c.delete(ids: deleted)
        model.delete(deleted)
        let queries = (0..<15).map { _ in gen.vector() }
        try checkCodeSearch(c, model, queries)
        try await c.flush()  // the shadows persist as dead ordinals; after reopen they come from the manifest
        try await db.close()
        db = try await Database.open(at: path, options: options(graphs: graphs))
        c = try db.collection("c")
        XCTAssertEqual(c.statistics().segments, 2)
        try checkCodeSearch(c, model, queries)
        try await db.close()
    }
}
