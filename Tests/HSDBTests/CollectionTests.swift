import Foundation
import HSDB
import HSDBTestSupport
import XCTest

final class CollectionTests: XCTestCase {
    /// Random upserts and deletes, checked after every step against a dictionary model, then
    /// again after a reopen (the state is rebuilt from the WAL alone).
    func testWritesMatchAnExactModelBeforeAndAfterReopen() async throws {
        let path = temporaryDatabasePath(self)
        var db = try await Database.open(at: path)
        var c = try await db.createCollection("m", config: CollectionConfig(dimension: 8, metric: .dot))
        var model: [PointID: (UInt64, [Float], Payload)] = [:]
        var rng = SplitMix64(seed: 42)
        for step in 0..<300 {
            if rng.next() % 4 == 0 {
                let ids = (0..<Int(1 + rng.next() % 5)).map { _ in PointID.integer(rng.next() % 60) }
                let r = try await c.delete(ids: ids)
                for id in ids { model[id] = nil }
                XCTAssertEqual(r.lsn, UInt64(step + 1))
            } else {
                let points = (0..<Int(1 + rng.next() % 8)).map { i -> Point in
                    let id: PointID = rng.next() % 5 == 0 ? .uuid(UUID()) : .integer(rng.next() % 60)
                    return Point(id: id, vector: randomVector(8, &rng), payload: ["step": .int(Int64(step)), "i": .int(Int64(i))])
                }
                let r = try await c.upsert(points)
                for p in points { model[p.id] = (r.lsn, p.vector!, p.payload) }
            }
            XCTAssertEqual(c.count(), model.count)
        }
        try await checkAgainstModel(c, model)
        try await db.close()
        db = try await Database.open(at: path)
        c = try db.collection("m")
        try await checkAgainstModel(c, model)
        XCTAssertEqual(c.appliedLSN, 300)
        try await db.close()
    }

    func checkAgainstModel(_ c: HSDB.Collection, _ model: [PointID: (UInt64, [Float], Payload)]) async throws {
        let ids = Array(model.keys) + [.integer(9_999)]
        let got = try c.get(ids: ids, projection: .everything)
        XCTAssertEqual(got.count, model.count, "missing ids are skipped")
        for r in got {
            let (version, vector, payload) = model[r.id]!
            XCTAssertEqual(r.version, version)
            XCTAssertEqual(r.vector, vector)
            XCTAssertEqual(r.payload, payload)
        }
        // Scroll visits every id once, ascending, integers before UUIDs.
        var seen: [PointID] = []
        var offset: PointID? = nil
        repeat {
            let page = try c.scroll(from: offset, limit: 7, projection: .idsOnly)
            seen += page.points.map(\.id)
            offset = page.nextOffset
        } while offset != nil
        XCTAssertEqual(seen, model.keys.sorted())
        if let firstUUID = seen.firstIndex(where: { if case .uuid = $0 { return true } else { return false } }) {
            XCTAssertTrue(seen[firstUUID...].allSatisfy { if case .uuid = $0 { return true } else { return false } })
        }
    }

    func testScrollOffsetIsInclusive() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let c = try await db.createCollection("s", config: CollectionConfig(dimension: 2))
        try await c.upsert((1...5).map { Point(id: .integer($0), vector: [1, Float($0)]) })
        let page = try c.scroll(from: 3, limit: 2, projection: .idsOnly)
        XCTAssertEqual(page.points.map(\.id), [3, 4])
        XCTAssertEqual(page.nextOffset, 5)
        XCTAssertNil(try c.scroll(from: 4, limit: 2).nextOffset)
        try await db.close()
    }

    /// Exact search equals a brute-force ranking, for each metric.
    func testSearchIsExactForEveryMetric() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        var rng = SplitMix64(seed: 9)
        for metric in Metric.allCases {
            let c = try await db.createCollection("\(metric)", config: CollectionConfig(dimension: 16, metric: metric))
            let points = (0..<300).map { Point(id: .integer(UInt64($0)), vector: randomVector(16, &rng)) }
            try await c.upsert(points)
            for _ in 0..<10 {
                let q = randomVector(16, &rng)
                let hits = try c.search(q, limit: 10, projection: .idsOnly)
                let expected = points.map { p -> (PointID, Float) in (p.id, bruteScore(metric, q, p.vector!)) }
                    .sorted { metric.higherIsBetter ? $0.1 > $1.1 : $0.1 < $1.1 }.prefix(10)
                XCTAssertEqual(hits.map(\.id), expected.map(\.0), "\(metric)")
                for (h, e) in zip(hits, expected) { XCTAssertEqual(h.score, e.1, accuracy: 1e-4) }
            }
        }
        try await db.close()
    }

    func bruteScore(_ metric: Metric, _ a: [Float], _ b: [Float]) -> Float {
        switch metric {
        case .dot: return zip(a, b).map { Float(Double($0) * Double($1)) }.reduce(0, +)
        case .euclidean: return zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        case .cosine:
            let na = a.map { $0 * $0 }.reduce(0, +).squareRoot(), nb = b.map { $0 * $0 }.reduce(0, +).squareRoot()
            return zip(a, b).map { $0 * $1 }.reduce(0, +) / (na * nb)
        }
    }

    func testCosineStoresNormalisedVectorsAndThresholdsFilter() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2, metric: .cosine))
        try await c.upsert([Point(id: 1, vector: [3, 4]), Point(id: 2, vector: [-1, 0])])
        XCTAssertEqual(try c.get(ids: [1], projection: .everything)[0].vector, [0.6, 0.8])
        let hits = try c.search([1, 0], limit: 5, scoreThreshold: 0)
        XCTAssertEqual(hits.map(\.id), [1])
        XCTAssertEqual(hits[0].score, 0.6, accuracy: 1e-6)
        try await db.close()
    }

    func testHighestLSNWinsAndLaterDuplicatesInABatchWin() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let c = try await db.createCollection("v", config: CollectionConfig(dimension: 1, metric: .dot))
        let first = try await c.upsert([Point(id: 7, vector: [1]), Point(id: 7, vector: [2])])
        XCTAssertEqual(try c.get(ids: [7], projection: .everything)[0].vector, [2])
        let second = try await c.upsert([Point(id: 7, vector: [3])])
        XCTAssertGreaterThan(second.lsn, first.lsn)
        let r = try c.get(ids: [7], projection: .everything)[0]
        XCTAssertEqual(r.version, second.lsn)
        XCTAssertEqual(r.vector, [3])
        try await db.close()
    }

    /// Bad input is refused whole, with a message saying what was wrong, and changes nothing.
    func testInvalidWritesAreRefusedWholeAndChangeNothing() async throws {
        var options = DatabaseOptions()
        options.limits.maxPayloadBytes = 1000
        options.limits.maxBatchPoints = 10
        let db = try await Database.open(at: temporaryDatabasePath(self), options: options)
        let c = try await db.createCollection("v", config: CollectionConfig(dimension: 3))
        try await c.upsert([Point(id: 1, vector: [1, 2, 3])])
        let good = Point(id: 2, vector: [1, 1, 1])
        await XCTAssertInvalid("vector has 2 values, the collection's dimension is 3") {
            try await c.upsert([good, Point(id: 3, vector: [1, 2])])
        }
        await XCTAssertInvalid("index 1 is not a finite number") { try await c.upsert([Point(id: 3, vector: [1, .nan, 1])]) }
        await XCTAssertInvalid("not a finite number") { try await c.upsert([Point(id: 3, vector: [.infinity, 1, 1])]) }
        // Found by the API abuse loop: finite values whose squares overflow scored as null (dot)
        // or were normalized to zeros (cosine).
        await XCTAssertInvalid("sum of its squares overflows") { try await c.upsert([Point(id: 3, vector: [1e38, 1e38, 1])]) }
        await XCTAssertInvalid("payload is") {
            try await c.upsert([good, Point(id: 3, vector: [1, 1, 1], payload: ["t": .string(String(repeating: "x", count: 2000))])])
        }
        var deep: JSONValue = 1
        for _ in 0..<40 { deep = .array([deep]) }
        await XCTAssertInvalid("nests deeper") { try await c.upsert([Point(id: 3, vector: [1, 1, 1], payload: ["d": deep])]) }
        await XCTAssertInvalid("payload contains a number that is not finite") {
            try await c.upsert([Point(id: 3, vector: [1, 1, 1], payload: ["d": .double(.nan)])])
        }
        await XCTAssertInvalid("exceeds the limit of 10") {
            try await c.upsert((0..<11).map { Point(id: .integer(UInt64($0)), vector: [1, 1, 1]) })
        }
        await XCTAssertInvalid("search limit") { _ = try c.search([1, 1, 1], limit: 0) }
        await XCTAssertInvalid("query: vector has 4 values") { _ = try c.search([1, 1, 1, 1]) }
        XCTAssertEqual(c.count(), 1)
        XCTAssertEqual(c.appliedLSN, 1, "no refused write reached the log")
        try await db.close()
    }

    func testUUIDForms() {
        let canonical = "936da01f-9abd-4d9d-80c7-02af85c822a8"
        for form in [canonical, "936DA01F9ABD4D9D80C702AF85C822A8", "{936da01f-9abd-4d9d-80c7-02af85c822a8}", "urn:uuid:936da01f-9abd-4d9d-80c7-02af85c822a8"] {
            XCTAssertEqual(PointID(uuidString: form)?.description, canonical, form)
        }
        for bad in ["", "936da01f", "936da01f-9abd-4d9d-80c7-02af85c822aZ", "936da01f9abd-4d9d-80c7-02af85c822a8-", "g36da01f9abd4d9d80c702af85c822a8"] {
            XCTAssertNil(PointID(uuidString: bad), bad)
        }
        XCTAssertLessThan(PointID.integer(.max), PointID(uuidString: "00000000-0000-0000-0000-000000000000")!)
    }
}
