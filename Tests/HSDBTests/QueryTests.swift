import Foundation
@testable import HSDB
import HSDBTestSupport
import XCTest

/// The engine's query API (`Collection.query`): what the HTTP API's `points/query` runs,
/// available to embedded users. Each form is checked against the plain searches it is built
/// from, computed here.
final class QueryTests: XCTestCase {
    func collection() async throws -> (Database, HSDB.Collection) {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let config = CollectionConfig(dimension: 4, metric: .dot, sparseVectors: ["text": SparseVectorParameters()])
        let c = try await db.createCollection("q", config: config)
        var rng = SplitMix64(seed: 17)
        try await c.upsert((0..<300).map { i in
            let indices = Set((0..<3).map { _ in UInt32(rng.next() % 40) }).sorted()
            return Point(
                id: .integer(UInt64(i)), vector: randomVector(4, &rng),
                sparse: ["text": SparseVector(indices: indices, values: indices.map { _ in Float(1 + rng.next() % 9) })],
                payload: ["even": .bool(i % 2 == 0)])
        })
        return (db, c)
    }

    func testReciprocalRankFusionOfADenseAndASparsePrefetch() async throws {
        let (db, c) = try await collection()
        let dense: [Float] = [0.3, -0.2, 0.9, 0.1], sparse = SparseVector(indices: [3, 7, 11], values: [1, 2, 1])
        let q = Query(.fusion(.rrf(k: 60)), limit: 7, prefetch: [
            Query(.vector(dense), limit: 20), Query(.sparse(sparse), using: .sparse("text"), limit: 20),
        ])
        let got = try c.query(q, projection: .idsOnly)
        let lists = [
            try c.search(dense, limit: 20, projection: .idsOnly, parameters: SearchParameters(exact: true)),
            try c.searchSparse("text", sparse, limit: 20, projection: .idsOnly),
        ]
        var fused: [PointID: Float] = [:]
        // Qdrant's formula at weight 1: position p (from 0) adds 1 / (p + 1 + k - 1).
        for list in lists { for (p, hit) in list.enumerated() { fused[hit.id, default: 0] += 1 / Float(p + 60) } }
        let expected = fused.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(7)
        XCTAssertEqual(got.map(\.id), expected.map(\.key))
        for (g, e) in zip(got, expected) { XCTAssertEqual(g.score, e.value, accuracy: 1e-6) }
        let filtered = try c.query(Query(.fusion(.rrf(k: 60)), limit: 7, filter: Filter(must: [.match(key: "even", value: true)]), prefetch: q.prefetch))
        XCTAssertTrue(filtered.allSatisfy { $0.payload?["even"] == .bool(true) }, "the outer filter applies to every prefetch")
        try await db.close()
    }

    func testPointTargetsRecommendationsMMRAndOffsets() async throws {
        let (db, c) = try await collection()
        // A stored point's vector, the point itself left out.
        let stored = try c.get(ids: [.integer(5)], projection: .everything)[0]
        let byPoint = try c.query(Query(.point(.integer(5)), limit: 5, parameters: SearchParameters(exact: true)), projection: .idsOnly)
        let byVector = try c.search(stored.vector!, limit: 6, projection: .idsOnly, parameters: SearchParameters(exact: true))
        XCTAssertEqual(byPoint.map(\.id), Array(byVector.map(\.id).filter { $0 != .integer(5) }.prefix(5)))
        // average_vector: 2 avg(positive) - avg(negative), the examples left out.
        let (a, b) = (try c.get(ids: [.integer(1)], projection: .everything)[0].vector!, try c.get(ids: [.integer(2)], projection: .everything)[0].vector!)
        let extra: [Float] = [1, 0, 0, 0]
        let positive = zip(a, extra).map { ($0 + $1) / 2 }
        let target = zip(positive, b).map { 2 * $0 - $1 }
        let recommended = try c.query(
            Query(.recommend(positive: [.point(.integer(1)), .vector(extra)], negative: [.point(.integer(2))]), limit: 5,
                  parameters: SearchParameters(exact: true)), projection: .idsOnly)
        let plain = try c.search(target, limit: 8, projection: .idsOnly, parameters: SearchParameters(exact: true))
        XCTAssertEqual(recommended.map(\.id), Array(plain.map(\.id).filter { $0 != .integer(1) && $0 != .integer(2) }.prefix(5)))
        // MMR without diversity is the plain order; with it, the first hit stays and the rest differ.
        let query: [Float] = [0.5, 0.5, 0, 0]
        let near = try c.query(Query(.vector(query), limit: 5, parameters: SearchParameters(exact: true)), projection: .idsOnly)
        let same = try c.query(Query(.vector(query), limit: 5, parameters: SearchParameters(exact: true), mmr: .init(diversity: 0, candidates: 50)))
        XCTAssertEqual(same.map(\.id), near.map(\.id))
        let diverse = try c.query(Query(.vector(query), limit: 5, parameters: SearchParameters(exact: true), mmr: .init(diversity: 0.9, candidates: 50)))
        XCTAssertEqual(diverse.first?.id, near.first?.id)
        XCTAssertNotEqual(diverse.map(\.id), near.map(\.id))
        // No target: points in id order; the offset counts once.
        XCTAssertEqual(try c.query(Query(limit: 3, offset: 2), projection: .idsOnly).map(\.id), [2, 3, 4].map { .integer($0) })
        XCTAssertEqual(try c.query(Query(.vector(query), limit: 3, offset: 2, parameters: SearchParameters(exact: true)), projection: .idsOnly).map(\.id),
                       Array(near.map(\.id)[2..<5]))
        XCTAssertThrowsError(try c.query(Query(.point(.integer(999)), limit: 3))) { XCTAssertEqual($0 as? HSDBError, .pointNotFound(.integer(999))) }
        try await db.close()
    }

    func testFusionRanksAsDocumented() {
        func hits(_ ids: [UInt64], _ scores: [Float]) -> [ScoredPoint] {
            zip(ids, scores).map { ScoredPoint(id: .integer($0), version: 1, score: $1, vector: nil, payload: nil) }
        }
        let a = ScoreFusion.Ranked(hits: hits([1, 2, 3], [0.9, 0.8, 0.1]), higherIsBetter: true)
        let b = ScoreFusion.Ranked(hits: hits([3, 4], [0.2, 0.5]), higherIsBetter: false)  // distances
        let rrf = ScoreFusion.fuse([a, b], .rrf(k: 60))
        XCTAssertEqual(rrf.map(\.id), [3, 1, 2, 4].map { PointID.integer($0) })
        XCTAssertEqual(rrf[0].score, 1 / 62 + 1 / 60, accuracy: 1e-7)
        XCTAssertEqual(rrf[1].score, 1 / 60, accuracy: 1e-7)
        // Qdrant's default k (2) and weights: (p + 1) / weight + k - 1; weight 0 adds nothing.
        let weighted = ScoreFusion.fuse([a, b], .rrf(k: 2, weights: [3, 0]))
        XCTAssertEqual(weighted.map(\.id), [1, 2, 3].map { PointID.integer($0) })
        XCTAssertEqual(weighted[0].score, 1 / (1.0 / 3 + 1), accuracy: 1e-6)
        XCTAssertEqual(weighted[2].score, 1 / (3.0 / 3 + 1), accuracy: 1e-6)
        let dbsf = ScoreFusion.fuse([a, b], .dbsf)
        // Sample standard deviations, as Qdrant: a: mean 0.6; b (negated distances): mean -0.35.
        let sdA = (((0.09 + 0.04 + 0.25) / 2) as Double).squareRoot(), sdB = ((0.0225 + 0.0225) as Double).squareRoot()
        func inB(_ v: Double) -> Double { (v - (-0.35 - 3 * sdB)) / (6 * sdB) }
        XCTAssertEqual(Double(dbsf.first { $0.id == 1 }!.score), (0.9 - (0.6 - 3 * sdA)) / (6 * sdA), accuracy: 1e-5)
        XCTAssertEqual(Double(dbsf.first { $0.id == 4 }!.score), inB(-0.5), accuracy: 1e-5)
        XCTAssertEqual(Double(dbsf.first { $0.id == 3 }!.score), (0.1 - (0.6 - 3 * sdA)) / (6 * sdA) + inB(-0.2), accuracy: 1e-5)
        // One hit scores 0.5.
        let single = ScoreFusion.fuse([ScoreFusion.Ranked(hits: hits([7], [3]), higherIsBetter: true)], .dbsf)
        XCTAssertEqual(single.first?.score, 0.5)
    }

    func testMaximalMarginalRelevancePrefersDiverseHits() {
        func hit(_ id: UInt64, _ score: Float, _ v: [Float]) -> ScoredPoint { ScoredPoint(id: .integer(id), version: 1, score: score, vector: v, payload: nil) }
        // 1 and 2 are near duplicates; 3 is less relevant but different.
        let hits = [hit(1, 0.99, [1, 0]), hit(2, 0.98, [0.999, 0.045]), hit(3, 0.7, [0.7, 0.714])]
        XCTAssertEqual(MaximalMarginalRelevance.select(hits, metric: .cosine, diversity: 0, count: 2).map(\.id), [1, 2])
        XCTAssertEqual(MaximalMarginalRelevance.select(hits, metric: .cosine, diversity: 0.8, count: 2).map(\.id), [1, 3])
    }
}
