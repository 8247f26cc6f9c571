import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// Segments at or below `codeScanPoints` are searched by the native code scan, not their graph
/// (DESIGN.md, "Search"). The scan must keep what search promises: no deleted or overwritten
/// point comes back, scores are exact distances, and a filter holds.
final class CodeScanTests: XCTestCase {
    func options() -> DatabaseOptions {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.minGraphPoints = 200
        o.filterExactScanPoints = 10  // so the filtered search below scans codes under its mask
        o.compaction.enabled = false
        return o
    }

    func testCodeScanReturnsOnlyLivePointsWithExactScores() async throws {
        let path = temporaryDatabasePath(self)
        let dimension = 256  // binary traversal (x16) is the default from 256 dimensions
        var rng = SplitMix64(seed: 31)
        var model = EngineModel(metric: .cosine)
        var db = try await Database.open(at: path, options: options())
        var c = try await db.createCollection("c", config: CollectionConfig(dimension: dimension, hnswM: 8, hnswEfConstruction: 40))
        let centres = (0..<8).map { _ in randomVector(dimension, &rng) }
        func point(_ id: UInt64, _ rng: inout SplitMix64) -> Point {
            let centre = centres[Int(rng.next() % 8)]
            return Point(
                id: .integer(id), vector: centre.map { $0 + Float(Int(rng.next() % 401) - 200) / 1000 },
                payload: ["parity": id % 2 == 0 ? "even" : "odd"])
        }
        let initial = (0..<1500).map { point(UInt64($0), &rng) }
        model.upsert(initial, lsn: try await c.upsert(initial).lsn)
        try await c.flush()
        XCTAssertEqual(c.statistics().segments, 1)
        // Overwrite and delete flushed points: their segment ordinals are shadowed.
        let overwritten = (0..<150).map { _ in point(rng.next() % 1500, &rng) }
        model.upsert(overwritten, lsn: try await c.upsert(overwritten).lsn)
        let deleted = (0..<150).map { _ in PointID.integer(rng.next() % 1500) }
        try await c.delete(ids: deleted)
        model.delete(deleted)
        let queries = (0..<15).map { _ in point(rng.next() % 1500, &rng).vector }
        try check(c, model, queries)
        try await c.flush()  // the shadows persist as dead ordinals; after reopen they come from the manifest
        try await db.close()
        db = try await Database.open(at: path, options: options())
        c = try db.collection("c")
        XCTAssertEqual(c.statistics().segments, 2)
        try check(c, model, queries)
        try await db.close()
    }

    func check(_ c: HSDB.Collection, _ model: EngineModel, _ queries: [[Float]], file: StaticString = #filePath, line: UInt = #line) throws {
        var found = 0, total = 0
        let even = Filter(must: [.match(key: "parity", value: "even")])
        for q in queries {
            let unit = model.normalized(q)
            for (limit, filter) in [(10, nil), (10, even), (500, nil)] as [(Int, Filter?)] {
                let hits = try c.search(q, limit: limit, projection: .idsOnly, filter: filter)
                let eligible = filter == nil ? model.points.count : model.points.keys.filter { if case .integer(let n) = $0 { return n % 2 == 0 } else { return false } }.count
                XCTAssertEqual(hits.count, min(limit, eligible), file: file, line: line)
                for hit in hits {
                    guard let entry = model.points[hit.id] else {
                        XCTFail("search returned the deleted point \(hit.id)", file: file, line: line)
                        continue
                    }
                    XCTAssertEqual(hit.version, entry.version, "search returned an overwritten version of \(hit.id)", file: file, line: line)
                    XCTAssertEqual(hit.score, -model.distance(unit, entry.vector), accuracy: 1e-4, "score of \(hit.id) is its exact similarity", file: file, line: line)
                    if filter != nil, case .integer(let n) = hit.id { XCTAssertEqual(n % 2, 0, "the filter holds", file: file, line: line) }
                }
                XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >), "best first", file: file, line: line)
                if limit == 10 && filter == nil {
                    let truth = Set(model.nearest(q, k: 10).map(\.0))
                    found += hits.filter { truth.contains($0.id) }.count
                    total += 10
                }
                if limit == 500 {  // 500 x 16 candidates cover every live point: the scan is exact
                    let exact = try c.search(q, limit: limit, projection: .idsOnly, parameters: SearchParameters(exact: true))
                    for (a, b) in zip(hits, exact) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5, file: file, line: line) }
                }
            }
        }
        XCTAssertGreaterThanOrEqual(Double(found) / Double(total), 0.9, "recall@10 of the code scan", file: file, line: line)
    }
}
