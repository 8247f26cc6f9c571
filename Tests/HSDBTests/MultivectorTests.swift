import Foundation
@testable import HSDB
import HSDBCore
import Index
import WAL
import XCTest

/// Multivectors (Qdrant's `multivector_config` with `max_sim`): a further dense vector whose
/// value is one or more vectors, scored by MaxSim. Through the WAL record (golden bytes), the
/// memtable, flushed and merged segments, reopen and WAL replay, against a brute-force model.
final class MultivectorTests: XCTestCase {
    static let config = CollectionConfig(
        dimension: 4, metric: .dot, hnswM: 8, hnswEfConstruction: 40,
        namedVectors: [NamedVectorConfig(name: "colbert", dimension: 3, metric: .cosine, multivector: true)])

    /// Version 4: each dense vector entry carries its row count. Dimension 1 with lane `m` a
    /// multivector of dimension 2: point 9 with `[3]` and `m` = [[1, 0], [0, 1]], payload {}.
    func testMultivectorRecordGoldenBytes() throws {
        let lanes = [NamedVectorConfig(name: "m", dimension: 2, multivector: true)]
        var record = OperationCodec.beginUpsert(count: 1, dimension: 1, absentVectors: true, multivectors: true)
        OperationCodec.appendPoint(Point(id: 9, vector: [3], named: ["m": [1, 0, 0, 1]]), lanes: lanes, to: &record)
        let body = Array(record.writer.bytes[WALFormat.recordHeaderSize...])
        let expected = "04" + "01000000" + "01" + "00" + "0900000000000000" + "02" + "00" + "01" + "00004040"
            + "01" + "02" + "0000803f" + "00000000" + "00000000" + "0000803f" + "00" + "02" + "0700"
        XCTAssertEqual(body.map { String(format: "%02x", $0) }.joined(), expected)
        let decoded = try body.withUnsafeBytes { try OperationCodec.decode(type: OperationCodec.upsertType, body: $0, dimension: 1, lanes: lanes) }
        guard case .upsert(let points) = decoded else { return XCTFail("not an upsert") }
        XCTAssertEqual(points, [Point(id: 9, vector: [3], named: ["m": [1, 0, 0, 1]])])
        // Two rows under a plain vector's index are refused.
        let plain = [NamedVectorConfig(name: "m", dimension: 2)]
        XCTAssertThrowsError(try body.withUnsafeBytes { try OperationCodec.decode(type: OperationCodec.upsertType, body: $0, dimension: 1, lanes: plain) })
    }

    func maxSim(_ q: [Float], _ p: [Float]) -> Float {
        q.withUnsafeBufferPointer { a in p.withUnsafeBufferPointer { MaxSim.score(a, $0, dimension: 3, metric: .cosine) } }
    }

    func normalisedRows(_ v: [Float]) -> [Float] {
        stride(from: 0, to: v.count, by: 3).flatMap { Distance.normalized(Array(v[$0..<($0 + 3)])) }
    }

    func testMultivectorsThroughEveryLayer() async throws {
        let path = temporaryDatabasePath(self)
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        var db = try await Database.open(at: path, options: o)
        var c = try await db.createCollection("m", config: Self.config)
        var rng = SplitMix64(seed: 21)
        var model: [PointID: [Float]?] = [:]  // nil: the point has no multivector
        func upsert(_ ids: [UInt64]) async throws {
            let points = ids.map { id -> Point in
                let rows = Int(rng.next() % 4)  // 0: the point has no multivector
                let m = (0..<(rows * 3)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 + 0.001 }
                return Point(id: .integer(id), vector: randomVector(4, &rng), named: rows == 0 ? [:] : ["colbert": m], payload: ["id": .int(Int64(id))])
            }
            try await c.upsert(points)
            for p in points { model[p.id] = .some(p.named["colbert"].map(normalisedRows)) }
        }
        func check(_ stage: String) throws {
            for _ in 0..<5 {
                let q = (0..<6).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
                let nq = normalisedRows(q)
                let scored: [(PointID, Float)] = model.compactMap { id, v in v.map { (id, maxSim(nq, $0)) } }
                let expected = scored.sorted { ($0.1, $1.0) > ($1.1, $0.0) }.prefix(10)
                let hits = try c.search(q, lane: 1, limit: 10, projection: .everything)
                XCTAssertEqual(hits.map(\.id), expected.map(\.0), stage)
                for (h, e) in zip(hits, expected) { XCTAssertEqual(h.score, e.1, accuracy: 1e-4, stage) }
                XCTAssertEqual(hits.first?.named?["colbert"], hits.first.flatMap { model[$0.id] ?? nil }, stage)
            }
            let sample = Array(model.keys.sorted().prefix(30))
            for r in try c.get(ids: sample, projection: .everything) { XCTAssertEqual(r.named?["colbert"], model[r.id]!, "\(stage): \(r.id)") }
            let holders = model.values.filter { $0 != nil }.count
            XCTAssertEqual(try c.count(filter: Filter(must: [.hasVector("colbert")])), holders, stage)
        }
        try await upsert(Array(0..<300))
        try check("memtable")
        try await c.flush()
        try await upsert(Array(250..<500))
        try check("segment and memtable")
        try await c.flush()
        try await c.deleteVectors(dense: false, sparse: [], named: ["colbert"], ids: [.integer(3), .integer(4)])
        model[.integer(3)] = .some(nil)
        model[.integer(4)] = .some(nil)
        try check("deleted")
        try await c.compact()
        try check("merged")
        (db, c) = try await reopen(db, at: path, options: o, collection: "m")
        try check("reopened")
        try await upsert(Array(500..<540))
        (db, c) = try await reopen(db, at: path, options: o, collection: "m")
        try check("replayed")
        await XCTAssertInvalid("not whole vectors of 3") { try await c.upsert([Point(id: 1, vector: [1, 2, 3, 4], named: ["colbert": [1, 2]])]) }
        try await db.close()
    }
}

extension MultivectorTests {
    /// In a segment of 1,500 points of 64-dimensional multivectors, candidates come from the
    /// codes: recall@10 against exact MaxSim stays high, and `exact` equals the brute force.
    func testCodeCandidatesKeepRecall() async throws {
        let path = temporaryDatabasePath(self)
        var o = DatabaseOptions()
        o.compaction.enabled = false
        let db = try await Database.open(at: path, options: o)
        let config = CollectionConfig(
            dimension: 2, metric: .dot, namedVectors: [NamedVectorConfig(name: "mv", dimension: 64, metric: .cosine, multivector: true)])
        let c = try await db.createCollection("codes", config: config)
        var rng = SplitMix64(seed: 8)
        // Points around 50 topics, so near neighbours exist (uniform noise has none).
        let topics = (0..<50).map { _ in randomVector(64, &rng) }
        func near(_ t: Int) -> [Float] { zip(topics[t], randomVector(64, &rng)).map { $0 + 0.3 * $1 } }
        var points: [Point] = []
        for i in 0..<1500 {
            let rows = (0..<(1 + i % 4)).flatMap { _ in near(Int(rng.next() % 50)) }
            points.append(Point(id: .integer(UInt64(i)), vector: [1, 0], named: ["mv": rows]))
        }
        try await c.upsert(points)
        try await c.flush()
        var found = 0, asked = 0
        for _ in 0..<20 {
            let q = (0..<3).flatMap { _ in near(Int(rng.next() % 50)) }
            let exact = try c.search(q, lane: 1, limit: 10, projection: .idsOnly, parameters: SearchParameters(exact: true))
            let approximate = try c.search(q, lane: 1, limit: 10, projection: .idsOnly)
            found += Set(exact.map(\.id)).intersection(approximate.map(\.id)).count
            asked += 10
        }
        let recall = Double(found) / Double(asked)
        print("multivector code candidates: recall@10 \(recall)")
        XCTAssertGreaterThan(recall, 0.9)
        try await db.close()
    }
}
