import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// The exact in-memory model of a collection's live points, for checking the engine against.
struct EngineModel {
    struct Entry: Equatable {
        var version: UInt64
        /// nil: the point carries no dense vector.
        var vector: [Float]?
        var payload: Payload
        var sparse: [String: SparseVector] = [:]
        /// Further dense vectors and multivectors, as given (the models using them are dot).
        var named: [String: [Float]] = [:]
    }

    var points: [PointID: Entry] = [:]
    let metric: Metric

    mutating func upsert(_ batch: [Point], lsn: UInt64) {
        for p in batch {
            let v = metric == .cosine ? p.vector.map(normalized) : p.vector
            points[p.id] = Entry(version: lsn, vector: v, payload: p.payload, sparse: p.sparse, named: p.named)
        }
    }

    mutating func delete(_ ids: [PointID]) { for id in ids { points[id] = nil } }

    func normalized(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    func distance(_ a: [Float], _ b: [Float]) -> Float {
        switch metric {
        case .cosine, .dot: return -zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        case .euclidean: return zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
    }

    /// The exact `k` nearest ids (ties broken by id, as the check allows either).
    func nearest(_ query: [Float], k: Int) -> [(PointID, Float)] {
        let q = metric == .cosine ? normalized(query) : query
        var scored: [(PointID, Float)] = []
        for (id, e) in points { if let v = e.vector { scored.append((id, distance(q, v))) } }
        scored.sort { a, b in a.1 < b.1 || (a.1 == b.1 && a.0 < b.0) }
        return Array(scored.prefix(k))
    }

    /// Checks count, a full scroll, get of present and absent ids, and exact search.
    func check(_ c: HSDB.Collection, queries: [[Float]], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(c.count(), points.count, "count", file: file, line: line)
        var scrolled: [Record] = []
        var offset: PointID? = nil
        repeat {
            let page = try c.scroll(from: offset, limit: 97, projection: .everything)
            scrolled += page.points
            offset = page.nextOffset
        } while offset != nil
        let expectedIDs = points.keys.sorted()
        if scrolled.map(\.id) != expectedIDs {
            let got = scrolled.map(\.id)
            let firstDifference = (0..<min(got.count, expectedIDs.count)).first { got[$0] != expectedIDs[$0] } ?? min(got.count, expectedIDs.count)
            XCTFail(
                "scroll returned \(scrolled.count) points, the model has \(expectedIDs.count); first difference at position \(firstDifference)",
                file: file, line: line)
        }
        for r in scrolled {
            guard let e = points[r.id] else { continue }
            XCTAssertEqual(r.version, e.version, "version of \(r.id)", file: file, line: line)
            XCTAssertEqual(r.payload, e.payload, "payload of \(r.id)", file: file, line: line)
            XCTAssertEqual(r.vector?.count, e.vector?.count, "dense vector of \(r.id)", file: file, line: line)
            if let v = r.vector, let ev = e.vector { for (a, b) in zip(v, ev) { XCTAssertEqual(a, b, accuracy: 1e-5, file: file, line: line) } }
        }
        let absent: [PointID] = [.integer(UInt64.max - 1), .uuid(UUID(uuidString: "00000000-0000-0000-0000-00000000dead")!)]
        XCTAssertEqual(try c.get(ids: absent), [], "absent ids", file: file, line: line)
        for q in queries {
            let expected = nearest(q, k: 10)
            let got = try c.search(q, limit: 10, projection: .idsOnly, parameters: SearchParameters(exact: true))
            XCTAssertEqual(got.count, expected.count, file: file, line: line)
            for (g, e) in zip(got, expected) {
                // Equal distances may come in either order; compare scores, and ids where unambiguous.
                let expectedScore = metric == .euclidean ? e.1.squareRoot() : -e.1
                XCTAssertEqual(g.score, expectedScore, accuracy: 1e-4, "exact search score", file: file, line: line)
                XCTAssertNotNil(points[g.id], "search returned a dead or unknown id \(g.id)", file: file, line: line)
                XCTAssertEqual(g.version, points[g.id]?.version, "search returned a stale version of \(g.id)", file: file, line: line)
            }
        }
    }
}

/// The reference sparse score for model tests, written independently of the engine's merge:
/// the dot product over the indices both vectors hold; nil when they share none.
func referenceDot(_ a: SparseVector, _ b: SparseVector) -> Float? {
    let weights = Dictionary(uniqueKeysWithValues: zip(a.indices, a.values))
    let shared = zip(b.indices, b.values).filter { weights[$0.0] != nil }
    return shared.isEmpty ? nil : shared.reduce(0) { $0 + weights[$1.0]! * $1.1 }
}
