import HSDBCore
import Replication
import XCTest

/// Routing is part of the on-disk contract: a point written under one version must be found
/// under every later one. These values are DESIGN.md's ("Shards: routing"), computed there
/// independently (Python's hashlib and bisect).
final class ShardRingTests: XCTestCase {
    let uuid = PointID(uuidString: "550e8400-e29b-41d4-a716-446655440000")!

    func testTheRoutingHashIsPinned() {
        XCTAssertEqual(ShardRing.hash(.integer(0)), 0x3e70_77fd_2f66_d689)
        XCTAssertEqual(ShardRing.hash(.integer(1)), 0x2ae1_c19c_0cbd_378e)
        XCTAssertEqual(ShardRing.hash(.integer(UInt64(Int64.max))), 0xeb06_4384_813f_1682)
        XCTAssertEqual(ShardRing.hash(uuid), 0x7e2b_134b_5767_1deb)
        XCTAssertEqual(ShardRing.hash(Array("hsdb-shard:0:0".utf8)), 0xc4e2_8798_a867_5cce)
    }

    func testTheShardOfAPointIsPinned() {
        let three = ShardRing(shards: 3)
        XCTAssertEqual((0..<12).map { three.shard(of: .integer(UInt64($0))) }, [0, 2, 1, 2, 1, 1, 2, 2, 1, 1, 0, 0])
        XCTAssertEqual(three.shard(of: uuid), 1)
        let two = ShardRing(shards: 2)
        XCTAssertEqual((0..<12).map { two.shard(of: .integer(UInt64($0))) }, [0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0])
        XCTAssertEqual(ShardRing(shards: 1).shard(of: .integer(5)), 0)
    }

    func testEveryShardGetsAFairPart() {
        let ring = ShardRing(shards: 3)
        var counts = [0, 0, 0]
        for i in 0..<30_000 { counts[ring.shard(of: .integer(UInt64(i)))] += 1 }
        XCTAssertEqual(counts, [8966, 11587, 9447])
    }

    func testCopiesOfAShardArePlacedOnDistinctNodes() {
        let shards = ShardMap.place(shardNumber: 4, replicationFactor: 2, on: ["c", "a", "b"])
        XCTAssertEqual(shards.map(\.replicas), [["a", "b"], ["b", "c"], ["c", "a"], ["a", "b"]])
        for s in ShardMap.place(shardNumber: 5, replicationFactor: 3, on: ["a", "b", "c"]) { XCTAssertEqual(Set(s.replicas).count, 3) }
    }

    func testTheMapRecordIsPinned() throws {
        let map = ShardMap(
            name: "c", uid: "u1", replicationFactor: 2, writeConsistencyFactor: 1, config: #"{"shard_number":2}"#,
            shards: [.init(id: 0, replicas: ["a", "b"]), .init(id: 1, replicas: ["b", "a"])])
        let text = String(decoding: map.encoded(), as: UTF8.self)
        XCTAssertEqual(
            text,
            #"{"config":"{\"shard_number\":2}","name":"c","replication_factor":2,"shards":[{"id":0,"replicas":["a","b"]},"#
                + #"{"id":1,"replicas":["b","a"]}],"uid":"u1","virtual_nodes":100,"write_consistency_factor":1}"#)
        var read = try XCTUnwrap(ShardMap.decode(map.encoded(), revision: 42))
        XCTAssertEqual(read.revision, 42)
        read.revision = 0
        XCTAssertEqual(read, map)
        XCTAssertNil(ShardMap.decode(Array(#"{"name":"c"}"#.utf8), revision: 1))
    }
}
