import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import WAL
import XCTest

/// Points without their dense vector (Qdrant's points that carry only sparse vectors, or none)
/// through every layer: the WAL record (golden bytes), the memtable, flushed and merged
/// segments, reopen. They are read, scrolled and found by sparse search; dense search never
/// returns them, approximate or exact, checked against a model.
final class OptionalVectorTests: XCTestCase {
    static let config = CollectionConfig(
        dimension: 8, metric: .cosine, hnswM: 8, hnswEfConstruction: 40, sparseVectors: ["text": SparseVectorParameters()])

    /// An upsert record with a point lacking its dense vector, byte for byte (DESIGN.md,
    /// "Operation records"): version 3, dimension 2, point 5 with [1, -2] (one dense vector,
    /// index 0) and no sparse vector, point 6 with no dense vector and sparse "t" = (3, 0.5);
    /// payloads {}. Records whose points all carry it keep versions 1 and 2.
    func testOptionalVectorRecordGoldenBytes() throws {
        var record = OperationCodec.beginUpsert(count: 2, dimension: 2, sparse: true, absentVectors: true)
        let points = [
            Point(id: 5, vector: [1, -2]),
            Point(id: 6, vector: nil, sparse: ["t": SparseVector(indices: [3], values: [0.5])]),
        ]
        for p in points { OperationCodec.appendPoint(p, to: &record) }
        let body = Array(record.writer.bytes[WALFormat.recordHeaderSize...])
        XCTAssertEqual(body.lowercaseHex, "03" + "02000000" + "02"
            + "00" + "0500000000000000" + "01" + "00" + "0000803f" + "000000c0" + "00" + "02" + "0700"
            + "00" + "0600000000000000" + "00" + "01" + "0174" + "01" + "03000000" + "0000003f" + "02" + "0700")
        let decoded = try body.withUnsafeBytes { try OperationCodec.decode(type: OperationCodec.upsertType, body: $0, dimension: 2) }
        guard case .upsert(let read) = decoded else { return XCTFail() }
        XCTAssertEqual(read, points)
        let ids = try body.withUnsafeBytes { try OperationCodec.decodeIDs(type: OperationCodec.upsertType, body: $0, dimension: 2) }
        XCTAssertEqual(ids.ids, [5, 6])
        // A second dense vector, or an index other than 0, is refused with its offset.
        var bad = body
        bad[15] = 2
        XCTAssertThrowsError(try bad.withUnsafeBytes { try OperationCodec.decode(type: OperationCodec.upsertType, body: $0, dimension: 2) }) {
            XCTAssertTrue("\($0)".contains("2 dense vectors"), "\($0)")
        }
        bad = body
        bad[16] = 1
        XCTAssertThrowsError(try bad.withUnsafeBytes { try OperationCodec.decode(type: OperationCodec.upsertType, body: $0, dimension: 2) }) {
            XCTAssertTrue("\($0)".contains("dense vector index 1"), "\($0)")
        }
    }

    func testPointsWithoutVectorsThroughEveryLayer() async throws {
        let path = temporaryDatabasePath(self)
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        o.minGraphPoints = 100
        o.codeScanPoints = 150  // larger segments are searched through their graphs
        o.filterExactScanPoints = 10  // not scored exactly for a mask of points with vectors
        var db = try await Database.open(at: path, options: o)
        var c = try await db.createCollection("o", config: Self.config)
        var rng = SplitMix64(seed: 77)
        var model = EngineModel(metric: .cosine)
        func upsert(_ ids: [UInt64]) async throws {
            let points = ids.map { id -> Point in
                let vector = rng.next() % 3 == 0 ? nil : randomVector(8, &rng)
                let sparse: [String: SparseVector] = id % 2 == 0 ? ["text": SparseVector(indices: [UInt32(id % 7)], values: [1])] : [:]
                return Point(id: .integer(id), vector: vector, sparse: sparse, payload: ["id": .int(Int64(id))])
            }
            let r = try await c.upsert(points)
            model.upsert(points, lsn: r.lsn)
        }
        let queries = (0..<8).map { _ in randomVector(8, &rng) }
        func check(_ stage: String) throws {
            try model.check(c, queries: queries)
            for q in queries {
                for hit in try c.search(q, limit: 30, projection: .everything) {
                    XCTAssertNotNil(model.points[hit.id]?.vector, "\(stage): dense search returned \(hit.id), which has no vector")
                    XCTAssertNotNil(hit.vector)
                }
            }
            let sparseHits = try c.searchSparse("text", SparseVector(indices: [0, 1, 2, 3, 4, 5, 6], values: [1, 1, 1, 1, 1, 1, 1]),
                limit: 10_000, projection: .idsOnly)
            XCTAssertEqual(Set(sparseHits.map(\.id)), Set(model.points.filter { $0.value.sparse["text"] != nil }.keys), stage)
            XCTAssertTrue(model.points.values.contains { $0.vector == nil }, "\(stage): some points have no vector")
            // has_vector, in memtables (hash tree) and segments (the absent bitmap and sparse sections).
            let withDense = Set(model.points.filter { $0.value.vector != nil }.keys)
            let withText = Set(model.points.filter { $0.value.sparse["text"] != nil }.keys)
            for (condition, holders) in [(Condition.hasVector(""), withDense), (.hasVector("text"), withText), (.hasVector("other"), [])] {
                XCTAssertEqual(try c.count(filter: Filter(must: [condition])), holders.count, "\(stage): \(condition)")
                let page = try c.scroll(limit: 10_000, projection: .idsOnly, filter: Filter(mustNot: [condition]))
                XCTAssertEqual(Set(page.points.map(\.id)), Set(model.points.keys).subtracting(holders), "\(stage): not \(condition)")
            }
        }
        try await upsert(Array(0..<400))
        try check("memtable")
        try await c.flush()
        try await upsert(Array(300..<700))  // some points gain a vector, some lose theirs
        try await c.delete(ids: [.integer(5), .integer(350)])
        model.delete([.integer(5), .integer(350)])
        try check("segment and memtable")
        try await c.flush()
        // Dropping the dense vector keeps the point, its payload and sparse vectors.
        let withVector = model.points.keys.filter { model.points[$0]!.vector != nil }.sorted().prefix(20)
        let r = try await c.deleteVectors(dense: true, sparse: [], ids: Array(withVector))
        for id in withVector { model.points[id]!.vector = nil }
        for id in withVector { model.points[id]!.version = r!.lsn }
        try check("vectors deleted")
        // A vector given back to a point that had none.
        let without = model.points.keys.filter { model.points[$0]!.vector == nil }.sorted()[3]
        let given = randomVector(8, &rng)
        let u = try await c.updateVectors([(id: without, vector: given)])
        model.points[without]!.vector = model.normalized(given)
        model.points[without]!.version = u.lsn
        try check("vector given back")
        try await c.compact()
        XCTAssertEqual(c.statistics().segments, 1)
        try check("merged")
        (db, c) = try await reopen(db, at: path, options: o, collection: "o")
        try check("reopened")
        await XCTAssertInvalid("has no dense vector") {
            _ = try c.query(Query(.point(withVector.first!), limit: 3))
        }
        try await db.close()
        // The WAL replays version 3 records: reopen before any flush.
        let again = temporaryDatabasePath(self)
        db = try await Database.open(at: again, options: o)
        c = try await db.createCollection("o", config: Self.config)
        model = EngineModel(metric: .cosine)
        try await upsert(Array(0..<50))
        try await db.close()
        db = try await Database.open(at: again, options: o)
        c = try db.collection("o")
        try check("replayed")
        try await db.close()
    }
}
