import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// Flushes to segments: reads across memtable, frozen memtables and segments against an exact
/// model, through overwrites, deletes, several flushes and reopens.
final class SegmentEngineTests: XCTestCase {
    func options(flushBytes: Int = 1 << 30) -> DatabaseOptions {
        var o = DatabaseOptions()
        o.memtableFlushBytes = flushBytes
        o.minGraphPoints = 200
        o.compaction.enabled = false  // flushed segments stay, each with its graph (merges: CompactionTests)
        return o
    }

    func testRandomWorkloadAcrossFlushesAndReopens() async throws {
        for metric in [Metric.cosine, .euclidean] {
            let path = temporaryDatabasePath(self)
            var rng = SplitMix64(seed: metric == .cosine ? 11 : 12)
            var model = EngineModel(metric: metric)
            let dimension = 8
            var db = try await Database.open(at: path, options: options())
            var c = try await db.createCollection("c", config: CollectionConfig(dimension: dimension, metric: metric, hnswM: 8, hnswEfConstruction: 40))
            let queries = (0..<5).map { _ in randomVector(dimension, &rng) }
            for round in 0..<6 {
                for _ in 0..<8 {
                    let batch = (0..<Int(rng.next() % 120 + 1)).map { _ -> Point in
                        let n = rng.next() % 1500
                        let id: PointID = n % 7 == 0 ? .uuid(UUID(uuidString: String(format: "00000000-0000-4000-8000-%012llx", n))!) : .integer(n)
                        return Point(id: id, vector: randomVector(dimension, &rng), payload: ["n": .int(Int64(n)), "round": .int(Int64(round))])
                    }
                    let r = try await c.upsert(batch)
                    model.upsert(batch, lsn: r.lsn)
                    let doomed = (0..<Int(rng.next() % 20)).map { _ in PointID.integer(rng.next() % 1500) }
                    try await c.delete(ids: doomed)
                    model.delete(doomed)
                }
                try model.check(c, queries: queries)
                if round % 2 == 0 { try await c.flush() }  // odd rounds leave writes in the memtable
                try model.check(c, queries: queries)
                if round % 3 == 2 {
                    try await db.close()
                    db = try await Database.open(at: path, options: options())
                    c = try db.collection("c")
                    try model.check(c, queries: queries)
                }
            }
            XCTAssertGreaterThanOrEqual(c.statistics().segments, 3)
            try await db.close()
        }
    }

    func testOverwriteAndDeleteOfFlushedPointsAreVisibleAtOnce() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2, metric: .euclidean))
        try await c.upsert([Point(id: 1, vector: [0, 0], payload: ["v": 1]), Point(id: 2, vector: [5, 5])])
        try await c.flush()
        XCTAssertEqual(c.statistics().segments, 1)
        let w = try await c.upsert([Point(id: 1, vector: [9, 9], payload: ["v": 2])])
        try await c.delete(ids: [2])
        XCTAssertEqual(try c.get(ids: [1, 2]).map(\.payload), [["v": 2]])
        XCTAssertEqual(try c.get(ids: [1])[0].version, w.lsn)
        XCTAssertEqual(c.count(), 1)
        let hits = try c.search([0, 0], limit: 5, parameters: SearchParameters(exact: true))
        XCTAssertEqual(hits.map(\.id), [1], "the flushed version of 1 and the deleted 2 are gone")
        XCTAssertEqual(hits[0].score, (81 + 81 as Float).squareRoot(), accuracy: 1e-5)
        try await c.flush()  // the overwrite and the delete now persist as dead ordinals in the manifest
        try await db.close()
        let reopened = try await Database.open(at: path, options: options())
        let r = try reopened.collection("c")
        XCTAssertEqual(try r.scroll(limit: 10).points.map(\.id), [1])
        XCTAssertEqual(r.statistics().segments, 2)
        try await reopened.close()
    }

    func testGraphSearchRecallOverSegments() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let dimension = 16
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: dimension, hnswM: 12, hnswEfConstruction: 64))
        var rng = SplitMix64(seed: 5)
        var model = EngineModel(metric: .cosine)
        let centres = (0..<12).map { _ in randomVector(dimension, &rng) }
        for part in 0..<3 {
            let batch = (0..<800).map { i -> Point in
                let c = centres[Int(rng.next() % 12)]
                return Point(id: .integer(UInt64(part * 800 + i)), vector: c.map { $0 + Float(Int(rng.next() % 601) - 300) / 1000 })
            }
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            try await c.flush()
        }
        XCTAssertEqual(c.statistics().segments, 3)
        var hits = 0, total = 0
        for _ in 0..<40 {
            let q = randomVector(dimension, &rng)
            let truth = Set(model.nearest(q, k: 10).map(\.0))
            for binary in [nil, 8] as [Int?] {
                let got = try c.search(q, limit: 10, projection: .idsOnly, parameters: SearchParameters(binaryOversampling: binary))
                XCTAssertEqual(got.count, 10)
                if binary == nil { hits += got.filter { truth.contains($0.id) }.count; total += 10 }
            }
        }
        XCTAssertGreaterThanOrEqual(Double(hits) / Double(total), 0.95, "recall@10 with default parameters")
        try await db.close()
    }

    func testFullMemtableFlushesInTheBackground() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options(flushBytes: 64 << 10))
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 32))
        var rng = SplitMix64(seed: 9)
        for i in 0..<20 {
            try await c.upsert((0..<50).map { Point(id: .integer(UInt64(i * 50 + $0)), vector: randomVector(32, &rng)) })
        }
        // Wait for the condition itself, with a deadline: a background flush was scheduled.
        let deadline = Date().addingTimeInterval(30)
        while c.statistics().segments == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertGreaterThan(c.statistics().segments, 0, "a full memtable is flushed without being asked")
        XCTAssertEqual(c.count(), 1000)
        try await db.close()
    }

    func testFlushedWALIsRemovedUnderTheRetentionPolicy() async throws {
        let path = temporaryDatabasePath(self)
        var o = options()
        o.walFileSize = 16 << 10
        o.walRetention = WALRetentionPolicy(maxAgeSeconds: nil, maxBytes: 0)
        let db = try await Database.open(at: path, options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 64))
        var rng = SplitMix64(seed: 3)
        for i in 0..<40 { try await c.upsert((0..<10).map { Point(id: .integer(UInt64(i * 10 + $0)), vector: randomVector(64, &rng)) }) }
        let walDirectory = path + "/collections/c/wal"
        let before = try FileManager.default.contentsOfDirectory(atPath: walDirectory).count
        XCTAssertGreaterThan(before, 3)
        try await c.flush()
        let after = try FileManager.default.contentsOfDirectory(atPath: walDirectory)
        XCTAssertEqual(after.count, 1, "every flushed file but the active one is gone: \(after)")
        try await db.close()
        let reopened = try await Database.open(at: path, options: o)
        XCTAssertEqual(try reopened.collection("c").count(), 400)
        try await reopened.close()
    }
}

/// Writes that land while a flush builds its segment must shadow that segment's older
/// versions as soon as it is installed.
final class FlushConcurrencyTests: XCTestCase {
    func testWritesDuringFlushWinOverTheFlushedVersions() async throws {
        let path = temporaryDatabasePath(self)
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.minGraphPoints = 100
        let db = try await Database.open(at: path, options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 16, hnswM: 8, hnswEfConstruction: 100))
        var rng = SplitMix64(seed: 21)
        var model = EngineModel(metric: .cosine)
        let initial = (0..<4000).map { Point(id: .integer(UInt64($0)), vector: randomVector(16, &rng)) }
        model.upsert(initial, lsn: try await c.upsert(initial).lsn)
        let flush = Task { try await c.flush() }
        var writesDuringFlush = 0
        var round = 0
        repeat {  // overwrite and delete flushed ids until the flush has finished
            let batch = (0..<20).map { _ in Point(id: .integer(rng.next() % 4000), vector: randomVector(16, &rng), payload: ["round": .int(Int64(round))]) }
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            let doomed: [PointID] = [.integer(rng.next() % 4000)]
            try await c.delete(ids: doomed)
            model.delete(doomed)
            if c.statistics().frozenMemtables > 0 { writesDuringFlush += 1 }
            round += 1
        } while c.statistics().segments == 0
        try await flush.value
        XCTAssertGreaterThan(writesDuringFlush, 0, "some writes happened while the segment was built")
        try model.check(c, queries: (0..<3).map { _ in randomVector(16, &rng) })
        try await db.close()
        let reopened = try await Database.open(at: path, options: o)
        try model.check(try reopened.collection("c"), queries: [randomVector(16, &rng)])
        try await reopened.close()
    }
}

/// When writes come faster than flushes can index them, writers wait: the data not yet in
/// segments stays bounded, and every write still lands.
final class WriteStallTests: XCTestCase {
    func testWritersWaitForFlushesInsteadOfGrowingMemory() async throws {
        let path = temporaryDatabasePath(self)
        var o = DatabaseOptions(durability: .none)
        o.memtableFlushBytes = 32 << 10
        o.memtableStallBytes = 96 << 10
        o.minGraphPoints = 50
        o.compaction.enabled = false
        let db = try await Database.open(at: path, options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 32, hnswM: 16, hnswEfConstruction: 400))
        var rng = SplitMix64(seed: 8)
        var model = EngineModel(metric: .cosine)
        var maxUnflushed = 0
        let batchBytes = 100 * (32 * 4 + 12)
        for i in 0..<60 {
            let batch = (0..<100).map { Point(id: .integer(UInt64(i * 100 + $0)), vector: randomVector(32, &rng)) }
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            maxUnflushed = max(maxUnflushed, c.statistics().unflushedBytes)
        }
        let stats = c.statistics()
        XCTAssertGreaterThan(stats.stalledWrites, 0, "writes outran the (slow) graph builds and were held")
        XCTAssertLessThanOrEqual(maxUnflushed, o.memtableStallBytes + batchBytes * 2, "unflushed data stays bounded")
        try model.check(c, queries: [randomVector(32, &rng)])
        try await db.close()
    }
}
