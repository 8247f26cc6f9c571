import Foundation
@testable import HSDB
import HSDBCore
import Index
import WAL
import XCTest

/// Several dense vectors per point (Qdrant's named vectors): the first as before, further ones
/// in lanes with their own dimension, metric, codes and graph. Points carry any subset. Each
/// lane is searched, exactly and through codes and graphs, against a brute-force model through
/// the memtable, flushed and merged segments, reopen and WAL replay; updating or deleting one
/// vector leaves the others.
final class NamedVectorTests: XCTestCase {
    static let config = CollectionConfig(
        dimension: 8, metric: .cosine, hnswM: 8, hnswEfConstruction: 40,
        namedVectors: [
            NamedVectorConfig(name: "image", dimension: 4, metric: .dot, hnswM: 6, hnswEfConstruction: 30),
            NamedVectorConfig(name: "audio", dimension: 12, metric: .euclidean),
        ])

    /// An upsert record with further dense vectors, byte for byte (DESIGN.md, "Operation
    /// records"): version 3, dimension 1, point 7 with the first vector [2] and lane 2's [0.5, 1]
    /// (lane 1 absent), payload {}.
    func testNamedVectorRecordGoldenBytes() throws {
        let lanes = [NamedVectorConfig(name: "a", dimension: 3), NamedVectorConfig(name: "b", dimension: 2)]
        var record = OperationCodec.beginUpsert(count: 1, dimension: 1, absentVectors: true)
        OperationCodec.appendPoint(Point(id: 7, vector: [2], named: ["b": [0.5, 1]]), lanes: lanes, to: &record)
        let body = Array(record.writer.bytes[WALFormat.recordHeaderSize...])
        let expected = "03" + "01000000" + "01" + "00" + "0700000000000000" + "02" + "00" + "00000040" + "02" + "0000003f" + "0000803f" + "00"
            + "02" + "0700"
        XCTAssertEqual(body.map { String(format: "%02x", $0) }.joined(), expected)
        let decoded = try body.withUnsafeBytes { try OperationCodec.decode(type: OperationCodec.upsertType, body: $0, dimension: 1, lanes: lanes) }
        guard case .upsert(let points) = decoded else { return XCTFail("not an upsert") }
        XCTAssertEqual(points, [Point(id: 7, vector: [2], named: ["b": [0.5, 1]])])
        // Without the lanes the record is refused, not misread.
        XCTAssertThrowsError(try body.withUnsafeBytes { try OperationCodec.decode(type: OperationCodec.upsertType, body: $0, dimension: 1) })
    }

    /// Collection metadata version 4 lists the further vectors; a collection without them keeps
    /// version 2 or 3 byte for byte.
    func testMetadataVersion4() throws {
        let bytes = CollectionMetadata.encode(name: "n", config: Self.config, createdMilliseconds: 1)
        XCTAssertEqual(bytes[8], 4)
        let decoded = try CollectionMetadata.decode(bytes, path: "m")
        XCTAssertEqual(decoded.config, Self.config)
        // Golden: the lane part of one multivector lane `v` (3, dot, M 16, ef 100), after an
        // empty sparse list, before the CRC.
        var one = CollectionConfig(dimension: 2)
        one.namedVectors = [NamedVectorConfig(name: "v", dimension: 3, metric: .dot, hnswM: 16, hnswEfConstruction: 100, multivector: true)]
        let encoded = CollectionMetadata.encode(name: "n", config: one, createdMilliseconds: 1)
        let lanePart: String = encoded[(encoded.count - 20)..<(encoded.count - 4)].map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(lanePart, "00" + "01" + "0176" + "03000000" + "02" + "1000" + "64000000" + "01")
        XCTAssertEqual(try CollectionMetadata.decode(encoded, path: "m").config, one)
        var plain = Self.config
        plain.namedVectors = []
        XCTAssertEqual(CollectionMetadata.encode(name: "n", config: plain, createdMilliseconds: 1)[8], 2)
    }

    struct Model {
        var points: [PointID: [String: [Float]]] = [:]  // "" the first vector

        func nearest(_ q: [Float], name: String, metric: Metric, k: Int) -> [PointID] {
            let query = metric == .cosine ? Distance.normalized(q) : q
            let scored = points.compactMap { id, vs in
                vs[name].map { v in (id, query.withUnsafeBufferPointer { a in v.withUnsafeBufferPointer { metric.score(a.baseAddress!, $0.baseAddress!, count: a.count) } }) }
            }
            let sorted = scored.sorted { metric.higherIsBetter ? ($0.1, $1.0) > ($1.1, $0.0) : ($0.1, $0.0) < ($1.1, $1.0) }
            return sorted.prefix(k).map(\.0)
        }
    }

    func testLanesThroughEveryLayer() async throws {
        let path = temporaryDatabasePath(self)
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        o.minGraphPoints = 100
        o.codeScanPoints = 150  // larger segments are searched through their graphs
        var db = try await Database.open(at: path, options: o)
        var c = try await db.createCollection("n", config: Self.config)
        var rng = SplitMix64(seed: 5)
        var model = Model()
        let lanes: [(name: String, dimension: Int, metric: Metric)] = [("", 8, .cosine), ("image", 4, .dot), ("audio", 12, .euclidean)]
        func upsert(_ ids: [UInt64]) async throws {
            let points = ids.map { id -> Point in
                var named: [String: [Float]] = [:]
                if rng.next() % 4 != 0 { named["image"] = randomVector(4, &rng) }
                if rng.next() % 3 != 0 { named["audio"] = randomVector(12, &rng) }
                return Point(id: .integer(id), vector: rng.next() % 5 == 0 ? nil : randomVector(8, &rng), named: named, payload: ["id": .int(Int64(id))])
            }
            try await c.upsert(points)
            for p in points {
                var vs = p.named
                if let v = p.vector { vs[""] = Distance.normalized(v) }
                model.points[p.id] = vs
            }
        }
        func check(_ stage: String) throws {
            for (l, lane) in lanes.enumerated() {
                for _ in 0..<5 {
                    let q = randomVector(lane.dimension, &rng)
                    let expected = model.nearest(q, name: lane.name, metric: lane.metric, k: 10)
                    let exact = try c.search(q, lane: l, limit: 10, projection: .everything, parameters: SearchParameters(exact: true))
                    XCTAssertEqual(exact.map(\.id), expected, "\(stage), lane \(l): exact search")
                    let approximate = try c.search(q, lane: l, limit: 10, parameters: SearchParameters(ef: 200))
                    XCTAssertGreaterThanOrEqual(Set(approximate.map(\.id)).intersection(expected).count, 8, "\(stage), lane \(l)")
                    for hit in exact { XCTAssertNotNil(model.points[hit.id]?[lane.name], "\(stage): found without the vector") }
                }
            }
            let sample = Array(model.points.keys.sorted().prefix(40))
            for r in try c.get(ids: sample, projection: .everything) {
                let vs = model.points[r.id]!
                XCTAssertEqual(r.vector, vs[""], "\(stage): \(r.id)")
                XCTAssertEqual(r.named ?? [:], vs.filter { !$0.key.isEmpty }, "\(stage): \(r.id)")
            }
            let withImage = Set(model.points.filter { $0.value["image"] != nil }.keys)
            XCTAssertEqual(try c.count(filter: Filter(must: [.hasVector("image")])), withImage.count, stage)
        }
        try await upsert(Array(0..<400))
        try check("memtable")
        try await c.flush()
        try await upsert(Array(300..<700))
        try check("segment and memtable")
        try await c.flush()
        // Replacing one named vector keeps the others; deleting one keeps the rest.
        let id = PointID.integer(10), image: [Float] = [1, 2, 3, 4]
        try await c.updateVectors([VectorUpdate(id: id, named: ["image": image])])
        model.points[id]!["image"] = image
        try await c.deleteVectors(dense: false, sparse: [], named: ["audio"], ids: [.integer(11)])
        model.points[.integer(11)]!["audio"] = nil
        try await c.updatePayload(.merge(["x": 1]), ids: [.integer(12)])
        try check("vectors updated")
        try await c.compact()
        XCTAssertEqual(c.statistics().segments, 1)
        try check("merged")
        (db, c) = try await reopen(db, at: path, options: o, collection: "n")
        try check("reopened")
        try await upsert(Array(700..<760))
        (db, c) = try await reopen(db, at: path, options: o, collection: "n")
        try check("replayed")
        await XCTAssertInvalid("no dense vector named") { _ = try c.denseLane(named: "nope") }
        await XCTAssertInvalid("no dense vector named 'video'") {
            try await c.upsert([Point(id: 1, vector: nil, named: ["video": [1]])])
        }
        await XCTAssertInvalid("dimension is 4") { try await c.upsert([Point(id: 1, vector: nil, named: ["image": [1]])]) }
        try await db.close()
    }
}

extension NamedVectorTests {
    /// Attributes change in place (the metadata file rewritten atomically) and survive a
    /// reopen; the collection's shape does not change.
    func testAttributesChangeDurably() async throws {
        let path = temporaryDatabasePath(self)
        var db = try await Database.open(at: path)
        var c = try await db.createCollection("a", config: Self.config)
        try await c.upsert([Point(id: 1, vector: [1, 0, 0, 0, 0, 0, 0, 0], named: ["image": [1, 2, 3, 4]])])
        try await c.updateAttributes { $0["strict_mode_config"] = .object(["enabled": .bool(true)]) }
        XCTAssertEqual(c.config.attributes["strict_mode_config"], .object(["enabled": .bool(true)]))
        try await db.close()
        db = try await Database.open(at: path)
        c = try db.collection("a")
        XCTAssertEqual(c.config.attributes["strict_mode_config"], .object(["enabled": .bool(true)]))
        XCTAssertEqual(c.config.namedVectors, Self.config.namedVectors)
        XCTAssertEqual(try c.get(ids: [1], projection: .everything).first?.named?["image"], [1, 2, 3, 4])
        try await db.close()
    }

    /// HNSW parameters change in a live collection (the next flush builds with them) and
    /// survive a reopen; a change of the shape is refused and changes nothing.
    func testSettingsChangeDurably() async throws {
        let path = temporaryDatabasePath(self)
        var options = DatabaseOptions()
        options.minGraphPoints = 100  // so the flush below builds graphs
        options.compaction.enabled = false  // flushes then build the graphs themselves
        var db = try await Database.open(at: path, options: options)
        var c = try await db.createCollection("s", config: Self.config)
        try await c.updateSettings { config in
            config.hnswM = 12
            config.namedVectors[0].hnswM = 10
            config.namedVectors[0].hnswEfConstruction = 64
        }
        var rng = SplitMix64(seed: 5)
        try await c.upsert((0..<300).map { i in
            Point(id: .integer(UInt64(i)), vector: randomVector(8, &rng), named: ["image": randomVector(4, &rng)])
        })
        try await c.flush()
        let segment = try XCTUnwrap(c.snapshot.segments.first?.segment)
        XCTAssertEqual(segment.header.m, 12)
        XCTAssertEqual(segment.lanes.first?.header.m, 10)
        await XCTAssertInvalid("cannot change") { try await c.updateSettings { $0.namedVectors[0].dimension = 5 } }
        await XCTAssertInvalid("cannot change") { try await c.updateSettings { $0.sparseVectors["new"] = SparseVectorParameters() } }
        await XCTAssertInvalid("hnsw m") { try await c.updateSettings { $0.hnswM = 1 } }
        try await db.close()
        db = try await Database.open(at: path)
        c = try db.collection("s")
        XCTAssertEqual(c.config.hnswM, 12)
        XCTAssertEqual(c.config.namedVectors[0].hnswM, 10)
        XCTAssertEqual(c.config.namedVectors[0].hnswEfConstruction, 64)
        XCTAssertEqual(c.config.namedVectors[0].dimension, 4)
        try await db.close()
    }
}
