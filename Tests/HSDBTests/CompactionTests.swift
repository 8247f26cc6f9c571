import Foundation
@testable import HSDB
import HSDBTestSupport
import XCTest

/// Compaction: results identical before and after, dead points dropped, writes during a merge
/// kept, files of merged segments removed only when no snapshot holds them, failures harmless.
final class CompactionTests: XCTestCase {
    func options() -> DatabaseOptions {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.minGraphPoints = 100
        o.compaction.enabled = false
        return o
    }

    /// Four flushed segments with overwrites and deletes between them, and a model of them.
    func populate(_ c: HSDB.Collection, _ model: inout EngineModel, _ rng: inout SplitMix64, segments: Int = 4) async throws {
        for round in 0..<segments {
            let batch = (0..<300).map { _ in
                Point(id: .integer(rng.next() % 900), vector: randomVector(8, &rng), payload: ["round": .int(Int64(round))])
            }
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            let doomed = (0..<40).map { _ in PointID.integer(rng.next() % 900) }
            try await c.delete(ids: doomed)
            model.delete(doomed)
            try await c.flush()
        }
    }

    func segmentFiles(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path + "/collections/c/segments")
    }

    func testCompactionKeepsResultsAndDropsDeadPoints() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 8, hnswM: 8, hnswEfConstruction: 40))
        var rng = SplitMix64(seed: 1)
        var model = EngineModel(metric: .cosine)
        try await populate(c, &model, &rng)
        let queries = (0..<8).map { _ in randomVector(8, &rng) }
        let before = try queries.map { try c.search($0, limit: 10, projection: .everything, parameters: SearchParameters(exact: true)) }
        XCTAssertEqual(c.statistics().segments, 4)
        XCTAssertGreaterThan(c.statistics().segmentPoints, model.points.count, "dead versions are still stored before compaction")
        try await c.compact()
        XCTAssertEqual(c.statistics().segments, 1)
        XCTAssertEqual(c.statistics().segmentPoints, model.points.count, "only live points are rewritten")
        XCTAssertEqual(try queries.map { try c.search($0, limit: 10, projection: .everything, parameters: SearchParameters(exact: true)) }, before)
        try model.check(c, queries: queries)
        XCTAssertEqual(try segmentFiles(path).count, 1, "merged segments' files are removed")
        try await db.close()
        let reopened = try await Database.open(at: path, options: options())
        try model.check(try reopened.collection("c"), queries: queries)
        try await reopened.close()
    }

    func testWritesDuringCompactionAreKept() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 8, hnswM: 8, hnswEfConstruction: 200))
        var rng = SplitMix64(seed: 2)
        var model = EngineModel(metric: .cosine)
        try await populate(c, &model, &rng, segments: 6)
        let compaction = Task { try await c.compact() }
        var during = 0
        repeat {
            let batch = (0..<10).map { _ in Point(id: .integer(rng.next() % 900), vector: randomVector(8, &rng)) }
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            let doomed: [PointID] = [.integer(rng.next() % 900)]
            try await c.delete(ids: doomed)
            model.delete(doomed)
            during += 1
        } while c.statistics().segments > 1
        try await compaction.value
        XCTAssertGreaterThan(during, 1)
        try model.check(c, queries: [randomVector(8, &rng)])
        try await c.flush()
        try await db.close()
        let reopened = try await Database.open(at: path, options: options())
        try model.check(try reopened.collection("c"), queries: [randomVector(8, &rng)])
        try await reopened.close()
    }

    /// A reader's snapshot keeps merged segments readable; their files go when it is dropped.
    func testSnapshotsKeepMergedFilesUntilReleased() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 8))
        var rng = SplitMix64(seed: 3)
        var model = EngineModel(metric: .cosine)
        try await populate(c, &model, &rng, segments: 2)
        var held: Snapshot? = c.snapshot
        let oldFiles = Set(try segmentFiles(path))
        try await c.compact()
        XCTAssertTrue(oldFiles.isSubset(of: Set(try segmentFiles(path))), "files in use stay")
        for h in held!.segments { XCTAssertEqual(h.segment.count, h.segment.count); try h.segment.verify() }
        held = nil
        XCTAssertTrue(oldFiles.isDisjoint(with: Set(try segmentFiles(path))), "released files are removed")
        XCTAssertEqual(try segmentFiles(path).count, 1)
        try await db.close()
    }

    /// A compaction that fails part-way changes nothing, and leaves nothing that survives a reopen.
    /// Closing raises the stop flag: a merge in progress gives up, changes nothing, leaves no
    /// file behind, and the collection reopens as it was (the merge is redone later).
    func testAStoppedMergeChangesNothing() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 8, hnswM: 8, hnswEfConstruction: 40))
        var rng = SplitMix64(seed: 6)
        var model = EngineModel(metric: .cosine)
        try await populate(c, &model, &rng, segments: 3)
        let before = try segmentFiles(path).sorted()
        c.stopMaintenance.raise()
        do {
            try await c.compact()
            XCTFail("a stopped merge must not complete")
        } catch {
            XCTAssertTrue("\(error)".contains("stopped"), "\(error)")
        }
        XCTAssertEqual(try segmentFiles(path).sorted(), before, "no new or temporary segment file")
        XCTAssertEqual(c.statistics().segments, 3)
        try model.check(c, queries: [randomVector(8, &rng)])
        try await db.close()
        let reopened = try await Database.open(at: path, options: options())
        let r = try reopened.collection("c")
        try model.check(r, queries: [randomVector(8, &rng)])
        try await r.compact()
        XCTAssertEqual(r.statistics().segments, 1, "the merge is redone after the restart")
        try await reopened.close()
    }

    func testFailedCompactionChangesNothing() async throws {
        for fault in [FaultInjectingFileSystem.Fault(.write, nth: 2, errno: ENOSPC, pathContains: "/segments/"),
                      FaultInjectingFileSystem.Fault(.rename, nth: 1, pathContains: "/segments/"),
                      FaultInjectingFileSystem.Fault(.rename, nth: 1, pathContains: "MANIFEST")] {
            let fs = FaultInjectingFileSystem()
            let db = try await Database.open(at: "/db", options: options(), fileSystem: fs)
            let c = try await db.createCollection("c", config: CollectionConfig(dimension: 8))
            var rng = SplitMix64(seed: 4)
            var model = EngineModel(metric: .cosine)
            try await populate(c, &model, &rng, segments: 3)
            fs.inject(fault)
            do {
                try await c.compact()
                XCTFail("compaction should have failed with \(fault)")
            } catch {}
            fs.clearFaults()
            try model.check(c, queries: [randomVector(8, &rng)])
            fs.simulatePowerLoss()
            fs.restart()
            let reopened = try await Database.open(at: "/db", options: options(), fileSystem: fs)
            let r = try reopened.collection("c")
            try model.check(r, queries: [randomVector(8, &rng)])
            XCTAssertEqual(try fs.listDirectory("/db/collections/c/segments").count, r.statistics().segments, "no orphan after \(fault)")
            try await reopened.close()
        }
    }

    func testBackgroundCompactionKeepsTheSegmentCountBounded() async throws {
        let path = temporaryDatabasePath(self)
        var o = options()
        o.memtableFlushBytes = 16 << 10
        o.compaction.enabled = true
        o.compaction.basePoints = 64
        let db = try await Database.open(at: path, options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 8, hnswM: 8, hnswEfConstruction: 32))
        var rng = SplitMix64(seed: 5)
        var model = EngineModel(metric: .cosine)
        var maxSegments = 0
        let deadline = Date().addingTimeInterval(120)
        var batches = 0
        while c.statistics().flushes < 24 && Date() < deadline {
            let batch = (0..<20).map { _ in Point(id: .integer(rng.next() % 5000), vector: randomVector(8, &rng)) }
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            maxSegments = max(maxSegments, c.statistics().segments)
            batches += 1
            // A steady writer: every few batches, let background flushes and the merges they
            // schedule catch up (flushes run beside merges, so a writer that never paused
            // could flush several segments while one merge runs).
            if batches % 10 == 0 { await c.waitForMaintenance() }
        }
        await c.waitForMaintenance()
        try model.check(c, queries: [randomVector(8, &rng)])
        let stats = c.statistics()
        XCTAssertGreaterThanOrEqual(stats.flushes, 24)
        XCTAssertGreaterThan(stats.compactions, 3)
        XCTAssertLessThanOrEqual(maxSegments, 8, "tiers of 4 keep the count logarithmic (\(stats.flushes) flushes)")
        try await db.close()
    }

    func testPolicyPicksFullTiersAndMostlyDeadSegments() {
        var p = CompactionPolicy()
        p.basePoints = 100
        typealias C = CompactionPolicy.Candidate
        XCTAssertEqual(p.pick([C(index: 0, live: 50, total: 50), C(index: 1, live: 60, total: 60), C(index: 2, live: 70, total: 70)]), [])
        XCTAssertEqual(Set(p.pick((0..<4).map { C(index: $0, live: 50 + $0, total: 60) })), [0, 1, 2, 3])
        XCTAssertEqual(p.pick([C(index: 0, live: 5000, total: 5000), C(index: 1, live: 10, total: 100)]), [1])
        XCTAssertEqual(p.pick([C(index: 0, live: 50, total: 50), C(index: 1, live: 5000, total: 5000), C(index: 2, live: 60, total: 60), C(index: 3, live: 70, total: 70)]), [])
        p.enabled = false
        XCTAssertEqual(p.pick([C(index: 1, live: 10, total: 100)]), [])
    }
}
