import HSDB
import HSDBTestSupport
import XCTest

/// Checks what search promises whatever the layers: no deleted or overwritten point comes
/// back, scores are exact distances, best first, a filter (on the `parity` payload) holds,
/// recall@10 against the model is at least `minRecall`, and a search whose candidates cover
/// every point equals the exact one.
func checkCodeSearch(
    _ c: HSDB.Collection, _ model: EngineModel, _ queries: [[Float]], minRecall: Double = 0.9, file: StaticString = #filePath,
    line: UInt = #line
) throws {
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
                XCTAssertEqual(hit.score, -model.distance(unit, entry.vector!), accuracy: 1e-4, "score of \(hit.id) is its exact similarity", file: file, line: line)
                if filter != nil, case .integer(let n) = hit.id { XCTAssertEqual(n % 2, 0, "the filter holds", file: file, line: line) }
            }
            XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >), "best first", file: file, line: line)
            if limit == 10 && filter == nil {
                let truth = Set(model.nearest(q, k: 10).map(\.0))
                found += hits.filter { truth.contains($0.id) }.count
                total += truth.count
            }
            if limit == 500 {  // 500 x 16 candidates cover every live point: the scan is exact
                let exact = try c.search(q, limit: limit, projection: .idsOnly, parameters: SearchParameters(exact: true))
                for (a, b) in zip(hits, exact) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5, file: file, line: line) }
            }
        }
    }
    XCTAssertGreaterThanOrEqual(Double(found) / Double(total), minRecall, "recall@10 of the code scan", file: file, line: line)
}
