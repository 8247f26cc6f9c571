import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// Memtables are searched as segments are: by a scan of their rows' 1-bit codes into the
/// collection's one candidate set, then exact rescoring (DESIGN.md, "Search"). The scan must
/// keep what search promises in every memtable layer: the active one, frozen ones waiting for
/// a flush, and beside segments.
final class MemtableSearchTests: XCTestCase {
    let dimension = 256  // codes rank the candidates (x16) from 256 dimensions

    func options() -> DatabaseOptions {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.minGraphPoints = 1 << 30  // segments here are searched by their codes; building graphs would only cost time
        o.filterExactScanPoints = 10  // so filtered searches scan codes under their masks
        o.compaction.enabled = false
        return o
    }

    func testActiveMemtableIsSearchedByItsCodes() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self), options: options())
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: dimension))
        var gen = ClusteredPoints(dimension: dimension, clusters: 32, seed: 5)
        var model = EngineModel(metric: .cosine)
        // Fewer rows than the quantizer needs: an exact scan; then past it: codes.
        for size in [1, 300, 3000] {
            let batch = (UInt64(model.points.count)..<UInt64(size)).map { gen.point($0) }
            if !batch.isEmpty { model.upsert(batch, lsn: try await c.upsert(batch).lsn) }
            let queries = (0..<8).map { _ in gen.vector() }
            try checkCodeSearch(c, model, queries)
        }
        // Overwrites (some twice in one batch: the later wins) and deletes, all in the memtable.
        for _ in 0..<3 {
            let overwrite = gen.batch(200, below: 3000)
            model.upsert(overwrite, lsn: try await c.upsert(overwrite).lsn)
            let deleted = (0..<100).map { _ in PointID.integer(gen.rng.next() % 3000) }
            try await c.delete(ids: deleted)
            model.delete(deleted)
        }
        XCTAssertEqual(c.statistics().segments, 0)
        try checkCodeSearch(c, model, (0..<15).map { _ in gen.vector() })
        try await db.close()
    }

    /// Frozen memtables stay searchable while their flush fails (the disk refuses the segment
    /// file), newer writes shadow their rows, and the flush that finally succeeds changes no
    /// answer; the collection's quantizer, fitted by the first memtable, carries into the
    /// segments and survives a reopen.
    func testFrozenMemtablesAndSegmentsShareOneCandidateSet() async throws {
        let path = temporaryDatabasePath(self)
        let fs = FaultInjectingFileSystem()
        var db = try await Database.open(at: path, options: options(), fileSystem: fs)
        var c = try await db.createCollection("c", config: CollectionConfig(dimension: dimension))
        var gen = ClusteredPoints(dimension: dimension, clusters: 32, seed: 9)
        var model = EngineModel(metric: .cosine)
        let first = (0..<2000).map { gen.point($0) }
        model.upsert(first, lsn: try await c.upsert(first).lsn)
        try await c.flush()  // one segment
        fs.inject(.init(.open, nth: nil, errno: ENOSPC, pathContains: ".tmp-"))
        for round in 0..<2 {
            let batch = (0..<1500).map { gen.point(2000 + UInt64(round) * 1500 + $0) } + gen.batch(300, below: 2000)
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            do {
                try await c.flush()
                XCTFail("the flush should fail while segment files cannot be created")
            } catch {}
            XCTAssertEqual(c.statistics().frozenMemtables, round + 1)
        }
        // Writes into the active memtable that replace and delete rows of the frozen ones.
        let overwrite = gen.batch(400, below: 5000)
        model.upsert(overwrite, lsn: try await c.upsert(overwrite).lsn)
        let deleted = (0..<200).map { _ in PointID.integer(gen.rng.next() % 5000) }
        try await c.delete(ids: deleted)
        model.delete(deleted)
        let queries = (0..<6).map { _ in gen.vector() }
        try checkCodeSearch(c, model, queries)
        fs.clearFaults()
        try await c.flush()
        XCTAssertEqual(c.statistics().frozenMemtables, 0)
        XCTAssertEqual(c.statistics().segments, 4)
        try checkCodeSearch(c, model, queries)
        try await db.close()
        db = try await Database.open(at: path, options: options(), fileSystem: fs)
        c = try db.collection("c")
        try checkCodeSearch(c, model, queries)
        try await db.close()
    }

    /// Every batch rewrites all the points, so a search that sees one snapshot returns points
    /// of one version only, each id once, while writes, flushes and merges run beside it.
    func testSearchRacingWritesAndFlushesSeesOneSnapshot() async throws {
        var o = options()
        o.memtableFlushBytes = 600 << 10
        o.compaction.enabled = true
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: dimension))
        var gen = ClusteredPoints(dimension: dimension, clusters: 32, seed: 13)
        let count = 1200, rounds = 12
        let batches = (0..<rounds).map { _ in (0..<count).map { gen.point(UInt64($0)) } }
        let queries = (0..<4).map { _ in gen.vector() }
        try await c.upsert(batches[0])
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for (i, b) in batches.enumerated().dropFirst() {
                    try await c.upsert(b)
                    if i % 3 == 0 { try await c.flush() }  // besides the flushes the memtable size starts
                }
                return 0
            }
            group.addTask {
                var checks = 0
                while c.appliedLSN < UInt64(rounds) || checks < 5 {
                    for q in queries {
                        for parameters in [SearchParameters(), SearchParameters(exact: true)] {
                            let hits = try c.search(q, limit: 50, projection: .idsOnly, parameters: parameters)
                            XCTAssertEqual(hits.count, 50)
                            XCTAssertEqual(Set(hits.map(\.id)).count, hits.count, "an id came back twice")
                            XCTAssertEqual(Set(hits.map(\.version)).count, 1, "hits from more than one snapshot")
                        }
                    }
                    checks += 1
                    await Task.yield()
                }
                return checks
            }
            for try await _ in group {}
        }
        XCTAssertGreaterThanOrEqual(c.statistics().flushes, 3, "flushes ran between the writes the searches raced")
        try await db.close()
    }
}
