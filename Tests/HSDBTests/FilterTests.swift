import Foundation
import HSDB
import HSDBTestSupport
import XCTest

/// Filter semantics, condition by condition, on hand-written payloads.
final class FilterSemanticsTests: XCTestCase {
    let payload: Payload = [
        "city": "Berlin", "n": 7, "score": 2.5, "ok": true, "nothing": .null, "empty": .array([]),
        "tags": .array(["a", "b"]), "meta": .object(["source": "docs", "pages": 12]),
        "items": .array([.object(["kind": "x", "qty": 2]), .object(["kind": "y", "qty": 5])]),
    ]

    func holds(_ c: Condition, id: PointID = 1) -> Bool { Filter(must: [c]).matches(id: id, payload: payload) }

    func testMatch() {
        XCTAssertTrue(holds(.match(key: "city", value: "Berlin")))
        XCTAssertFalse(holds(.match(key: "city", value: "berlin")))
        XCTAssertTrue(holds(.match(key: "n", value: 7)))
        XCTAssertTrue(holds(.match(key: "n", value: .double(7))), "integers and whole doubles compare equal")
        XCTAssertTrue(holds(.match(key: "ok", value: true)))
        XCTAssertTrue(holds(.match(key: "tags", value: "b")), "any array element matches")
        XCTAssertTrue(holds(.match(key: "meta.source", value: "docs")), "dotted keys reach nested objects")
        XCTAssertFalse(holds(.match(key: "items.kind", value: "y")), "a plain dot does not enter an array (as Qdrant)")
        XCTAssertTrue(holds(.match(key: "items[].kind", value: "x")), "[] enters every element")
        XCTAssertTrue(holds(.match(key: "items[1].kind", value: "y")), "[N] selects one element")
        XCTAssertFalse(holds(.match(key: "items[0].kind", value: "y")))
        XCTAssertFalse(holds(.match(key: "items[7].kind", value: "y")), "past the end selects nothing")
        XCTAssertTrue(holds(.match(key: "tags[1]", value: "b")))
        XCTAssertFalse(holds(.match(key: "tags[0]", value: "b")))
        XCTAssertFalse(holds(.match(key: "missing", value: "x")))
    }

    func testAnyExceptAndText() {
        XCTAssertTrue(holds(.matchAny(key: "city", values: ["Paris", "Berlin"])))
        XCTAssertFalse(holds(.matchAny(key: "city", values: ["Paris"])))
        XCTAssertTrue(holds(.matchExcept(key: "city", values: ["Paris"])))
        XCTAssertFalse(holds(.matchExcept(key: "city", values: ["Berlin"])))
        XCTAssertTrue(holds(.matchExcept(key: "tags", values: ["a"])), "an array with a value outside the list")
        XCTAssertFalse(holds(.matchExcept(key: "missing", values: ["a"])), "a missing field does not match except")
        XCTAssertTrue(holds(.matchText(key: "city", text: "erl")))
        XCTAssertFalse(holds(.matchText(key: "n", text: "7")))
    }

    func testRangesAndCounts() {
        XCTAssertTrue(holds(.range(key: "n", NumericRange(gte: 7, lt: 8))))
        XCTAssertFalse(holds(.range(key: "n", NumericRange(gt: 7))))
        XCTAssertTrue(holds(.range(key: "score", NumericRange(gt: 2, lte: 2.5))))
        XCTAssertTrue(holds(.range(key: "items[].qty", NumericRange(gt: 4))))
        XCTAssertFalse(holds(.range(key: "items.qty", NumericRange(gt: 4))))
        XCTAssertFalse(holds(.range(key: "city", NumericRange(gt: 0))), "strings are not numbers")
        XCTAssertTrue(holds(.valuesCount(key: "tags", NumericRange(gte: 2, lte: 2))))
        XCTAssertTrue(holds(.valuesCount(key: "missing", NumericRange(lt: 1))))
    }

    func testEmptyNullAndIDs() {
        for key in ["missing", "nothing", "empty"] { XCTAssertTrue(holds(.isEmpty(key: key)), key) }
        for key in ["tags", "city", "n"] { XCTAssertFalse(holds(.isEmpty(key: key)), key) }
        XCTAssertTrue(holds(.isNull(key: "nothing")))
        XCTAssertFalse(holds(.isNull(key: "missing")))
        XCTAssertFalse(holds(.isNull(key: "empty")))
        XCTAssertTrue(holds(.hasID([3, 1]), id: 1))
        XCTAssertFalse(holds(.hasID([3]), id: 1))
    }

    func testNestedAndCombinations() {
        let both = Filter(must: [.match(key: "kind", value: "x"), .range(key: "qty", NumericRange(gt: 3))])
        XCTAssertFalse(holds(.nested(key: "items", filter: both)), "no single item is kind x with qty > 3")
        XCTAssertTrue(holds(.nested(key: "items", filter: Filter(must: [.match(key: "kind", value: "y"), .range(key: "qty", NumericRange(gt: 3))]))))
        let city = Condition.match(key: "city", value: "Berlin"), paris = Condition.match(key: "city", value: "Paris")
        XCTAssertTrue(Filter(should: [paris, city]).matches(id: 1, payload: payload))
        XCTAssertFalse(Filter(should: [paris]).matches(id: 1, payload: payload))
        XCTAssertFalse(Filter(mustNot: [city]).matches(id: 1, payload: payload))
        XCTAssertTrue(Filter(must: [.filter(Filter(should: [paris, city]))], mustNot: [paris]).matches(id: 1, payload: payload))
        XCTAssertTrue(Filter(minShould: .init(conditions: [city, paris, .match(key: "n", value: 7)], minCount: 2)).matches(id: 1, payload: payload))
        XCTAssertFalse(Filter(minShould: .init(conditions: [city, paris], minCount: 2)).matches(id: 1, payload: payload))
        XCTAssertTrue(Filter().matches(id: 1, payload: payload), "an empty filter matches everything")
    }
}

/// Filtered scroll, count, search and delete across memtable and segments, against the model;
/// with and without payload field indexes.
final class FilteredReadTests: XCTestCase {
    func testFilteredReadsAcrossLayers() async throws { try await filteredReads(indexed: false) }

    /// The same results through field indexes, which read only the candidates' payloads.
    func testFilteredReadsThroughFieldIndexes() async throws { try await filteredReads(indexed: true) }

    func filteredReads(indexed: Bool) async throws {
        let path = temporaryDatabasePath(self)
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.minGraphPoints = 100
        o.compaction.enabled = false
        o.filterExactScanPoints = 0  // so a tenth of a segment decides: broad filters take the graph, selective ones the scan
        var db = try await Database.open(at: path, options: o)
        var c = try await db.createCollection("c", config: CollectionConfig(dimension: 8, hnswM: 8, hnswEfConstruction: 64))
        if indexed {
            try await c.createPayloadIndex("city", type: .keyword)
            try await c.createPayloadIndex("n", type: .integer)
            try await c.createPayloadIndex("meta.w", type: .float)
            try await c.createPayloadIndex("ok", type: .bool)
            try await c.createPayloadIndex("ref", type: .uuid)
            try await c.createPayloadIndex("at", type: .datetime)
            // Mostly integers, some whole doubles: the index holds the integers only, so it
            // cannot answer (a match of 5 holds for 5.0 too): the payloads decide.
            try await c.createPayloadIndex("m", type: .integer)
        }
        let refs: [JSONValue] = ["7c9e6679-7425-40de-944b-e07fc1f90ae7", "16fd2706-8baf-433b-82eb-8c7fada847da", "none", .int(3)]
        var rng = SplitMix64(seed: 77)
        var model = EngineModel(metric: .cosine)
        let cities: [JSONValue] = ["Berlin", "Paris", "Rome", "Oslo", "Lima"]
        for round in 0..<4 {
            let batch = (0..<1500).map { _ -> Point in
                let n = rng.next() % 6000
                let payload: Payload = [
                    "city": cities[Int(rng.next() % 5)], "n": .int(Int64(n % 100)),
                    "tags": .array((0..<Int(rng.next() % 3)).map { _ in cities[Int(rng.next() % 5)] }),
                    "meta": .object(["w": .double(Double(rng.next() % 1000) / 10)]),
                    "ok": .bool(n % 3 == 0), "ref": refs[Int(n % 4)],
                    "m": n % 7 == 0 ? .double(Double(n % 10)) : .int(Int64(n % 10)),
                    "at": .string("2026-12-0\(1 + n % 9)T\(10 + n % 10):00:00\(n % 2 == 0 ? "Z" : "+02:00")"),
                ]
                return Point(id: .integer(n), vector: randomVector(8, &rng), payload: payload)
            }
            model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            let doomed = (0..<100).map { _ in PointID.integer(rng.next() % 6000) }
            try await c.delete(ids: doomed)
            model.delete(doomed)
            if round < 3 { try await c.flush() }  // three segments and a memtable
        }
        if indexed {  // declarations survive a reopen
            try await db.close()
            db = try await Database.open(at: path, options: o)
            c = try db.collection("c")
            XCTAssertEqual(
                c.payloadIndexes, ["city": .keyword, "n": .integer, "meta.w": .float, "ok": .bool, "ref": .uuid, "at": .datetime, "m": .integer])
        }
        let filters: [Filter] = [
            Filter(must: [.match(key: "city", value: "Oslo")]),  // broad: graph search
            Filter(must: [.match(key: "city", value: "Oslo"), .range(key: "n", NumericRange(lt: 3))]),  // selective: exact scan
            Filter(should: [.match(key: "tags", value: "Lima"), .range(key: "meta.w", NumericRange(gte: 90))], mustNot: [.match(key: "city", value: "Rome")]),
            Filter(must: [.hasID((0..<300).map { .integer(UInt64($0 * 7)) })]),
            Filter(must: [.isEmpty(key: "tags")]),
            Filter(must: [.range(key: "meta.w", NumericRange(gt: 20, lte: 30)), .matchAny(key: "city", values: ["Rome", "Lima"])]),
            Filter(must: [.match(key: "n", value: 42)]),
            Filter(must: [.match(key: "ok", value: true), .range(key: "n", NumericRange(lt: 20))]),
            Filter(must: [.match(key: "ref", value: refs[1])]),
            Filter(must: [.match(key: "m", value: 5)]),  // 5.0 matches too: the payloads decide
            Filter(must: [.range(key: "m", NumericRange(lt: 3)), .range(key: "n", NumericRange(gte: 10))]),
            Filter(must: [.match(key: "ref", value: "none")]),  // not a UUID: the index does not answer
            Filter(must: [.matchAny(key: "ref", values: [refs[0], refs[1]]), .match(key: "ok", value: false)]),
            Filter(must: [.datetimeRange(key: "at", NumericRange(gte: PayloadDateTime.seconds("2026-12-03T12:00:00Z")!, lt: PayloadDateTime.seconds("2026-12-05T00:00:00+01:00")!))]),
        ]
        for filter in filters {
            let expected = model.points.filter { filter.matches(id: $0.key, payload: $0.value.payload) }
            XCTAssertGreaterThan(expected.count, 0, "\(filter)")
            XCTAssertEqual(try c.count(filter: filter), expected.count)
            var ids: [PointID] = []
            var offset: PointID?
            repeat {
                let page = try c.scroll(from: offset, limit: 211, projection: .idsOnly, filter: filter)
                ids += page.points.map(\.id)
                offset = page.nextOffset
            } while offset != nil
            XCTAssertEqual(ids, expected.keys.sorted(), "filtered scroll")
            for _ in 0..<5 {
                let q = randomVector(8, &rng)
                let qn = model.normalized(q)
                let truth = expected.map { ($0.key, model.distance(qn, $0.value.vector!)) }.sorted { $0.1 < $1.1 }.prefix(10).map(\.0)
                let exact = try c.search(q, limit: 10, projection: .idsOnly, filter: filter, parameters: SearchParameters(exact: true))
                XCTAssertEqual(Set(exact.map(\.id)), Set(truth), "exact filtered search")
                let approximate = try c.search(q, limit: 10, projection: .payloadOnly, filter: filter)
                XCTAssertEqual(approximate.count, min(10, expected.count))
                for hit in approximate { XCTAssertTrue(filter.matches(id: hit.id, payload: hit.payload!), "every hit matches the filter") }
                XCTAssertGreaterThanOrEqual(Set(approximate.map(\.id)).intersection(truth).count, min(8, truth.count), "filtered recall")
            }
        }
        if indexed {
            let before = c.statistics().payloadScans
            _ = try c.count(filter: Filter(must: [.match(key: "city", value: "Lima"), .range(key: "n", NumericRange(lt: 50))]))
            XCTAssertEqual(c.statistics().payloadScans, before, "an indexed filter reads no segment whole")
            for f in [filters[7], filters[8], filters[12], filters[13]] {
                _ = try c.count(filter: f)
                XCTAssertEqual(c.statistics().payloadScans, before, "\(f) answered by its indexes")
            }
            XCTAssertGreaterThan(c.statistics().indexedFilters, 0)
        }
        let doomed = Filter(must: [.match(key: "city", value: "Paris")])
        try await c.delete(filter: doomed)
        model.points = model.points.filter { !doomed.matches(id: $0.key, payload: $0.value.payload) }
        XCTAssertEqual(try c.count(filter: doomed), 0)
        try model.check(c, queries: [randomVector(8, &rng)])
        try await db.close()
    }
}
