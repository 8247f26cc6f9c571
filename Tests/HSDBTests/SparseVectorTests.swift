import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import WAL
import XCTest

/// Sparse vectors through every layer: validation, the WAL record (golden bytes), the
/// memtable, flushed and merged segments, deletes, vector and payload updates, reopen; every
/// search checked against an exact scorer over a model, IDF against a hand count.
final class SparseVectorTests: XCTestCase {
    static let config = CollectionConfig(
        dimension: 4, metric: .dot, hnswM: 8, hnswEfConstruction: 32,
        sparseVectors: ["text": SparseVectorParameters(), "bm25": SparseVectorParameters(modifier: .idf)])

    /// The points as the model holds them: sparse vectors and payload by id.
    struct Model {
        var points: [PointID: (sparse: [String: SparseVector], payload: Payload)] = [:]

        /// Exact search: every point sharing an index, scored by the (weighted) dot product.
        func search(_ name: String, _ q: SparseVector, idf: Bool, filter: Filter? = nil) -> [PointID: Float] {
            var weights = q.values
            if idf {
                let n = Double(points.count)
                weights = zip(q.indices, q.values).map { i, v in
                    let df = Double(points.values.filter { $0.sparse[name]?.indices.contains(i) ?? false }.count)
                    return v * Float(log(1 + (n - df + 0.5) / (df + 0.5)))
                }
            }
            let weighted = SparseVector(indices: q.indices, values: weights)
            var out: [PointID: Float] = [:]
            for (id, p) in points {
                if let filter, !filter.matches(id: id, payload: p.payload) { continue }
                if let v = p.sparse[name], let s = referenceDot(weighted, v) { out[id] = s }
            }
            return out
        }
    }

    func randomSparse(_ rng: inout SplitMix64, terms: UInt64 = 60) -> SparseVector {
        let indices = Set((0..<(1 + Int(rng.next() % 8))).map { _ in UInt32(rng.next() % terms) }).sorted()
        return SparseVector(indices: indices, values: indices.map { _ in Float(1 + rng.next() % 50) / 10 })
    }

    func check(_ c: Collection, _ model: Model, _ rng: inout SplitMix64, _ stage: String) throws {
        var found = 0
        defer { XCTAssertGreaterThan(found, 100, "\(stage): the queries find points") }
        for _ in 0..<12 {
            let q = randomSparse(&rng)
            for (name, idf) in [("text", false), ("bm25", true)] {
                let filter: Filter? = rng.next() % 2 == 0 ? Filter(must: [.match(key: "g", value: .int(Int64(rng.next() % 3)))]) : nil
                let truth = model.search(name, q, idf: idf, filter: filter)
                let hits = try c.searchSparse(name, q, limit: 1000, projection: .idsOnly, filter: filter)
                found += hits.count
                XCTAssertEqual(Set(hits.map(\.id)), Set(truth.keys), "\(stage): \(name) hit set")
                for h in hits { XCTAssertEqual(h.score, truth[h.id]!, accuracy: 1e-3, "\(stage): \(name) score of \(h.id)") }
                XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >), "\(stage): best first")
                let top = try c.searchSparse(name, q, limit: 3, projection: .idsOnly, filter: filter)
                XCTAssertEqual(top.map(\.score), Array(hits.prefix(3).map(\.score)), "\(stage): limit keeps the best")
            }
        }
        for (id, p) in model.points.prefix(20) {
            XCTAssertEqual(try c.get(ids: [id], projection: .everything).first?.sparse, p.sparse, "\(stage): \(id) reads back")
        }
    }

    func testSparseVectorsThroughEveryLayer() async throws {
        let path = temporaryDatabasePath(self)
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        o.minGraphPoints = 50
        var db = try await Database.open(at: path, options: o)
        var c = try await db.createCollection("s", config: Self.config)
        var rng = SplitMix64(seed: 21)
        var model = Model()
        func upsert(_ ids: [UInt64]) async throws {
            let points = ids.map { id -> Point in
                var sparse: [String: SparseVector] = [:]
                if id % 5 != 0 { sparse["text"] = randomSparse(&rng) }
                if id % 3 != 0 { sparse["bm25"] = randomSparse(&rng) }
                return Point(id: .integer(id), vector: randomVector(4, &rng), sparse: sparse, payload: ["g": .int(Int64(id % 3))])
            }
            try await c.upsert(points)
            for p in points { model.points[p.id] = (p.sparse, p.payload) }
        }
        try await upsert(Array(0..<200))
        try await upsert(Array(0..<50))  // rewritten in the memtable: their old indices must not match
        try await c.delete(ids: [.integer(60)])
        model.points[.integer(60)] = nil
        try check(c, model, &rng, "memtable")
        try await c.flush()
        try await upsert(Array(150..<260))  // overwrites some flushed points
        try await c.delete(ids: [.integer(3), .integer(170), .integer(255)])
        for id in [3, 170, 255] { model.points[.integer(UInt64(id))] = nil }
        try check(c, model, &rng, "segment and memtable")
        try await c.flush()
        // A vector update replaces one sparse vector and removes another; a payload update keeps them.
        let replaced = randomSparse(&rng)
        try await c.updateVectors([VectorUpdate(id: .integer(7), sparse: ["text": replaced, "bm25": nil])])
        model.points[.integer(7)]!.sparse = ["text": replaced]
        try await c.updatePayload(.merge(["extra": true]), ids: [.integer(8)])
        model.points[.integer(8)]!.payload["extra"] = true
        try check(c, model, &rng, "two segments and updates")
        try await c.compact()
        XCTAssertEqual(c.statistics().segments, 1)
        try check(c, model, &rng, "merged")
        try await db.close()
        db = try await Database.open(at: path, options: o)
        c = try db.collection("s")
        XCTAssertEqual(c.config, Self.config)
        try check(c, model, &rng, "reopened")
        try await db.close()
    }

    /// Frozen memtables (their flush refused by the disk) keep their inverted index searchable,
    /// and writes after the freeze replace their rows there as well.
    func testFrozenMemtablesKeepTheirPostings() async throws {
        let fs = FaultInjectingFileSystem()
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o, fileSystem: fs)
        let c = try await db.createCollection("s", config: Self.config)
        var rng = SplitMix64(seed: 5)
        var model = Model()
        func upsert(_ ids: [UInt64]) async throws {
            let points = ids.map { id -> Point in
                Point(id: .integer(id), vector: randomVector(4, &rng), sparse: ["text": randomSparse(&rng), "bm25": randomSparse(&rng)],
                      payload: ["g": .int(Int64(id % 3))])
            }
            try await c.upsert(points)
            for p in points { model.points[p.id] = (p.sparse, p.payload) }
        }
        try await upsert(Array(0..<150))
        try await c.flush()
        fs.inject(.init(.open, nth: nil, errno: EIO, pathContains: ".tmp-"))
        try await upsert(Array(100..<250))
        do { try await c.flush() } catch {}
        try await upsert(Array(200..<300) + Array(0..<20))
        do { try await c.flush() } catch {}
        XCTAssertEqual(c.statistics().frozenMemtables, 2)
        try await upsert(Array(120..<140))
        try await c.delete(ids: [.integer(5), .integer(110), .integer(210)])
        for id in [5, 110, 210] { model.points[.integer(UInt64(id))] = nil }
        try check(c, model, &rng, "frozen memtables")
        fs.clearFaults()
        try await c.flush()
        try check(c, model, &rng, "flushed")
        try await db.close()
    }

    /// The WAL alone (no flush) brings the sparse vectors back.
    func testSparseVectorsReplayFromTheWAL() async throws {
        let path = temporaryDatabasePath(self)
        var db = try await Database.open(at: path)
        let c = try await db.createCollection("s", config: Self.config)
        let v = SparseVector(indices: [2, 9], values: [0.5, 1.5])
        try await c.upsert([Point(id: 1, vector: [1, 0, 0, 0], sparse: ["text": v]), Point(id: 2, vector: [0, 1, 0, 0])])
        try await db.close()
        db = try await Database.open(at: path)
        let hits = try db.collection("s").searchSparse("text", SparseVector(indices: [9], values: [2]), projection: .everything)
        XCTAssertEqual(hits.map(\.id), [1])
        XCTAssertEqual(hits[0].score, 3)
        XCTAssertEqual(hits[0].sparse, ["text": v])
        try await db.close()
    }

    /// IDF by hand: 4 live points, index 1 in three of them, index 2 in one.
    func testIDFWeightsAgainstAHandCount() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let c = try await db.createCollection("s", config: Self.config)
        func p(_ id: UInt64, _ indices: [UInt32]) -> Point {
            Point(id: .integer(id), vector: [1, 0, 0, 0], sparse: ["bm25": SparseVector(indices: indices, values: indices.map { _ in 1 })])
        }
        try await c.upsert([p(1, [1]), p(2, [1]), p(3, [1, 2]), Point(id: 4, vector: [0, 1, 0, 0])])
        let hits = try c.searchSparse("bm25", SparseVector(indices: [1, 2], values: [1, 1]), projection: .idsOnly)
        let idf1 = Float(log(1 + (4 - 3 + 0.5) / (3 + 0.5))), idf2 = Float(log(1 + (4 - 1 + 0.5) / (1 + 0.5)))
        XCTAssertEqual(hits.first?.id, 3)
        XCTAssertEqual(Set(hits.map(\.id)), [1, 2, 3])
        XCTAssertEqual(hits[0].score, idf1 + idf2, accuracy: 1e-6)
        XCTAssertEqual(Set(hits.dropFirst().map(\.score)), [idf1])
        try await db.close()
    }

    func testBadSparseInputIsRefusedAndChangesNothing() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let c = try await db.createCollection("s", config: Self.config)
        let good = Point(id: 1, vector: [1, 0, 0, 0])
        for (bad, why) in [
            (["nope": SparseVector(indices: [1], values: [1])], "no sparse vector named 'nope'"),
            (["text": SparseVector(indices: [3, 1], values: [1, 1])], "not strictly ascending"),
            (["text": SparseVector(indices: [1, 1], values: [1, 1])], "not strictly ascending"),
            (["text": SparseVector(indices: [1], values: [.nan])], "not a finite number"),
        ] {
            await XCTAssertInvalid(why) { try await c.upsert([good, Point(id: 2, vector: [0, 1, 0, 0], sparse: bad)]) }
        }
        XCTAssertEqual(c.count(), 0)
        XCTAssertThrowsError(try c.searchSparse("nope", SparseVector(indices: [1], values: [1])))
        if case .failure(let e) = SparseVector.validated(indices: [4, 2, 4], values: [1, 2, 3]) {
            XCTAssertEqual(e, .duplicateIndex(4))
        } else {
            XCTFail("duplicate indices must be refused")
        }
        XCTAssertEqual(try SparseVector.validated(indices: [4, 2], values: [1, 2]).get(), SparseVector(indices: [2, 4], values: [2, 1]))
        try await db.close()
    }

    /// An upsert record with a sparse vector, byte for byte (DESIGN.md, "Operation records"):
    /// version 2, dimension 2, one point: id 5, [1, -2], one sparse vector "t" with
    /// entries (3, 0.5) and (7, 2), payload {}. Dense-only records stay version 1.
    func testSparseUpsertRecordGoldenBytes() throws {
        var record = OperationCodec.beginUpsert(count: 1, dimension: 2, sparse: true)
        OperationCodec.appendPoint(
            Point(id: 5, vector: [1, -2], sparse: ["t": SparseVector(indices: [3, 7], values: [0.5, 2])]), to: &record)
        let body = Array(record.writer.bytes[WALFormat.recordHeaderSize...])
        XCTAssertEqual(body.lowercaseHex, "02" + "02000000" + "01" + "00" + "0500000000000000" + "0000803f" + "000000c0"
            + "01" + "0174" + "02" + "03000000" + "07000000" + "0000003f" + "00000040" + "02" + "0700")
        let decoded = try body.withUnsafeBytes { try OperationCodec.decode(type: OperationCodec.upsertType, body: $0, dimension: 2) }
        guard case .upsert(let points) = decoded else { return XCTFail() }
        XCTAssertEqual(points, [Point(id: 5, vector: [1, -2], sparse: ["t": SparseVector(indices: [3, 7], values: [0.5, 2])])])
        let ids = try body.withUnsafeBytes { try OperationCodec.decodeIDs(type: OperationCodec.upsertType, body: $0, dimension: 2) }
        XCTAssertEqual(ids.ids, [5])
        var dense = OperationCodec.beginUpsert(count: 1, dimension: 2)
        OperationCodec.appendPoint(Point(id: 5, vector: [1, -2]), to: &dense)
        XCTAssertEqual(dense.writer.bytes[WALFormat.recordHeaderSize], 1)
    }

    /// Collection metadata with sparse vectors is version 3 and reads back; without them it
    /// stays version 2, byte for byte.
    func testMetadataVersionThreeCarriesSparseVectors() throws {
        let bytes = CollectionMetadata.encode(name: "c", config: Self.config, createdMilliseconds: 0)
        XCTAssertEqual(bytes[8], 3)
        // ... | attributes | 2 sparse vectors | "bm25" idf | "text" none | crc
        XCTAssertEqual(Array(bytes[(bytes.count - 17)..<(bytes.count - 4)]).lowercaseHex, "02" + "04626d3235" + "01" + "0474657874" + "00")
        let (_, config, _) = try CollectionMetadata.decode(bytes, path: "collection.meta")
        XCTAssertEqual(config, Self.config)
        let dense = CollectionMetadata.encode(name: "c", config: CollectionConfig(dimension: 2), createdMilliseconds: 0)
        XCTAssertEqual(dense[8], 2)
    }
}
