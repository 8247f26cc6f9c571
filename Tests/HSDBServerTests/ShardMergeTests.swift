import HSDBCore
@testable import HSDBServer
import Replication
import XCTest

/// The merges of shards' answers and the cutting of writes, on their own (the round trips
/// against one unsharded collection are in Tests/python/test_shards.py).
final class ShardMergeTests: XCTestCase {
    func hit(_ id: Int64, _ score: Double) -> JSONValue { .object(["id": .int(id), "score": .double(score)]) }
    func ids(_ list: [JSONValue]) -> [JSONValue?] { list.map(ShardMerge.id(of:)) }

    func testTopKIsGlobalAndOffsetIsAppliedAfterTheMerge() {
        let a = [hit(1, 0.9), hit(2, 0.5)]
        let b = [hit(3, 0.8), hit(4, 0.7), hit(5, 0.1)]
        XCTAssertEqual(ids(ShardMerge.scored([a, b], limit: 3, offset: 1, ascending: false)), [.int(3), .int(4), .int(2)])
        // Distances: the smallest first.
        XCTAssertEqual(ids(ShardMerge.scored([a, b], limit: 2, offset: 0, ascending: true)), [.int(5), .int(2)])
        // Equal scores: ordered by id.
        XCTAssertEqual(ids(ShardMerge.scored([[hit(9, 1)], [hit(4, 1)]], limit: 2, offset: 0, ascending: false)), [.int(4), .int(9)])
    }

    func testScrollPagesMergeByIdWithTheRightNextOffset() {
        let u = JSONValue.string("00000000-0000-0000-0000-000000000001")
        func p(_ id: JSONValue) -> JSONValue { .object(["id": id]) }
        let pages: [(points: [JSONValue], next: JSONValue?)] = [
            ([p(.int(1)), p(.int(4))], .int(9)),
            ([p(.int(2)), p(.int(3))], u),
            ([p(.int(5))], nil),
        ]
        let (page, next) = ShardMerge.scroll(pages, limit: 2)
        XCTAssertEqual(ids(page), [.int(1), .int(2)])
        XCTAssertEqual(next, .int(3))
        // The merged pages are used up: the next page starts at the smallest shard's next.
        XCTAssertEqual(ShardMerge.scroll(pages, limit: 5).next, .int(9))
        XCTAssertNil(ShardMerge.scroll([([p(.int(1))], nil)], limit: 5).next)
        XCTAssertTrue(ShardMerge.order(.int(99), u))
    }

    func testWritesAreCutByTheShardOfEachId() throws {
        let ring = ShardRing(shards: 3)
        let body: [String: JSONValue] = [
            "points": .array((0..<6).map { .object(["id": .int($0), "vector": .array([.double(Double($0))])]) }), "wait": .bool(true),
        ]
        let parts = try XCTUnwrap(try ShardSplit.parts(body, ring: ring))
        for (shard, part) in parts {
            XCTAssertEqual(part["wait"], .bool(true))
            guard case .array(let list)? = part["points"] else { return XCTFail("no points") }
            for item in list { XCTAssertEqual(ring.shard(of: .integer(UInt64(ShardMerge.int(item, "id")))), shard) }
        }
        XCTAssertEqual(parts.values.reduce(0) { n, p in if case .array(let l)? = p["points"] { n + l.count } else { n } }, 6)
        // A batch: every column cut at the same rows, named vectors too.
        let batch: [String: JSONValue] = ["batch": .object([
            "ids": .array([.int(0), .int(1), .int(2)]),
            "vectors": .object(["v": .array([.int(10), .int(11), .int(12)])]),
            "payloads": .array([.int(20), .int(21), .int(22)]),
        ])]
        let cut = try XCTUnwrap(try ShardSplit.parts(batch, ring: ring))
        XCTAssertEqual(cut[2]?["batch"], .object(["ids": .array([.int(1)]), "vectors": .object(["v": .array([.int(11)])]), "payloads": .array([.int(21)])]))
        // By filter: no ids, so the whole body goes to every shard.
        XCTAssertNil(try ShardSplit.parts(["filter": .object([:])], ring: ring))
        XCTAssertThrowsError(try ShardSplit.parts(["points": .array([.string("nope")])], ring: ring))
    }
}
