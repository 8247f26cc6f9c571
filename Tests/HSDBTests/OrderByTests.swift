import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

/// Scrolling in the order of a payload field, against the order computed here.
final class OrderByTests: XCTestCase {
    func testOrderedByAnIndexedFieldAcrossLayers() async throws {
        var o = DatabaseOptions()
        o.compaction.enabled = false
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        try await c.createPayloadIndex("n", type: .integer)
        try await c.createPayloadIndex("at", type: .datetime)
        var rng = SplitMix64(seed: 5)
        var model: [PointID: (n: [Int64], at: String, g: Int64)] = [:]
        func write(_ ids: Range<UInt64>) async throws {
            let points = ids.map { id -> Point in
                let n = id % 7 == 0 ? [] : (0..<(1 + rng.next() % 2)).map { _ in Int64(rng.next() % 50) }
                let at = "2026-12-0\(1 + id % 9)T\(10 + id % 12):00:00Z"
                model[.integer(id)] = (n, at, Int64(id % 2))
                var payload: Payload = ["at": .string(at), "g": .int(Int64(id % 2))]
                if !n.isEmpty { payload["n"] = n.count == 1 ? .int(n[0]) : .array(n.map { .int($0) }) }
                return Point(id: .integer(id), vector: [1, Float(id)], payload: payload)
            }
            try await c.upsert(points)
        }
        try await write(0..<120)
        try await c.flush()
        try await write(100..<160)  // overwrites some flushed points
        try await c.delete(ids: [.integer(3), .integer(130)])
        model[.integer(3)] = nil
        model[.integer(130)] = nil
        for descending in [false, true] {
            for startFrom in [nil, 20.0] {
                for filter in [nil, Filter(must: [.match(key: "g", value: .int(1))])] {
                    // A point comes once per value, as in Qdrant.
                    var expected = model.flatMap { id, p -> [(Double, PointID)] in
                        if filter != nil && p.g != 1 { return [] }
                        return p.n.compactMap { v in
                            if let s = startFrom, descending ? Double(v) > s : Double(v) < s { return nil }
                            return (Double(v), id)
                        }
                    }
                    expected.sort { a, b in a.0 != b.0 ? (descending ? a.0 > b.0 : a.0 < b.0) : a.1 < b.1 }
                    let got = try c.ordered(
                        by: PayloadOrder(key: "n", descending: descending, startFrom: startFrom), limit: 25, projection: .idsOnly, filter: filter)
                    XCTAssertEqual(got.map(\.record.id), expected.prefix(25).map(\.1), "descending \(descending), from \(String(describing: startFrom))")
                    XCTAssertEqual(got.map(\.value), expected.prefix(25).map(\.0))
                }
            }
        }
        let byTime = try c.ordered(by: PayloadOrder(key: "at", descending: true), limit: 5, projection: .payloadOnly)
        let times = model.map { (PayloadDateTime.seconds($0.value.at)!, $0.key) }.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        XCTAssertEqual(byTime.map(\.record.id), times.prefix(5).map(\.1))
        await XCTAssertInvalid("no range index") { _ = try c.ordered(by: PayloadOrder(key: "g"), limit: 5) }
        try await db.close()
    }
}
