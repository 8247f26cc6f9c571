import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
@testable import Replication
import XCTest

/// Location: descending two state trees finds exactly the points that differ, in
/// `depth + 1` round trips, for divergences of 1, 100 and 10,000 points among 50,000.
final class StateTreeComparisonTests: XCTestCase {
    /// A side whose every answer goes through the JSON codec, as over HTTP.
    struct OverJSON: StateTreeSource {
        let inner: LocalStateTree
        func children(level: Int, of nodes: [Int]) async throws -> StateTreeAnswer {
            let asked = StateTreeNodeSet.decode(StateTreeNodeSet.encode(nodes, level: level), level: level)!
            return try StateTreeAnswer.decode(try await inner.children(level: level, of: asked).json())
        }
    }

    func testLocationFindsExactlyTheDifferingIDs() async throws {
        for divergence in [1, 100, 10_000] {
            var rng = SplitMix64(seed: UInt64(divergence))
            var first = StateTree()
            var base: [PointID: UInt64] = [:]
            for i in 0..<50_000 {
                let id: PointID = i % 5 == 0 ? .uuid(UUID(uuid: Self.uuidBytes(&rng))) : .integer(UInt64(i))
                base[id] = 1 + rng.next() % 1000
                first.insert(id, version: base[id]!)
            }
            var second = first
            var want: Set<String> = []
            let ids = Array(base.keys)
            while want.count < divergence {
                let id = ids[Int(rng.next() % UInt64(ids.count))]
                guard !want.contains(id.description) else { continue }
                want.insert(id.description)
                switch rng.next() % 3 {
                case 0: second.remove(id, version: base[id]!)  // only on the first
                case 1:  // another version
                    second.remove(id, version: base[id]!)
                    second.insert(id, version: base[id]! + 5000)
                default:  // the first lost it: only on the second
                    first.remove(id, version: base[id]!)
                }
            }
            let found = try await StateTreeComparison.locate(
                OverJSON(inner: LocalStateTree(first, lsn: 9)), OverJSON(inner: LocalStateTree(second, lsn: 9)))
            XCTAssertEqual(found.ids, want, "divergence \(divergence)")
            XCTAssertEqual(found.roundTrips, StateTree.depth + 1, "divergence \(divergence)")
            let byText = Dictionary(uniqueKeysWithValues: ids.map { ($0.description, $0) })
            XCTAssertEqual(Set(found.buckets), Set(want.map { StateTree.bucket(of: byText[$0]!) }))
            for c in found.changed { XCTAssertEqual(c.second, c.first + 5000) }
        }
    }

    static func uuidBytes(_ rng: inout SplitMix64) -> uuid_t {
        let (a, b) = (rng.next(), rng.next())
        var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &u) { raw in
            raw.storeBytes(of: a, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
        }
        return u
    }

    func testEqualTreesNeedNoDescent() async throws {
        var t = StateTree()
        for i in 0..<100 { t.insert(.integer(UInt64(i)), version: 1) }
        let found = try await StateTreeComparison.locate(LocalStateTree(t, lsn: 1), LocalStateTree(t, lsn: 1))
        XCTAssertTrue(found.ids.isEmpty)
        XCTAssertEqual(found.roundTrips, 1, "the root's children agree: nothing below is asked")
    }

    func testNodeSetCodec() {
        XCTAssertEqual(StateTreeNodeSet.encode([0], level: 0), "80")
        XCTAssertEqual(StateTreeNodeSet.encode([0, 15], level: 1), "8001")
        XCTAssertEqual(StateTreeNodeSet.decode("8001", level: 1), [0, 15])
        XCTAssertNil(StateTreeNodeSet.decode("80", level: 1), "too short for 16 nodes")
        XCTAssertNil(StateTreeNodeSet.decode("zz01", level: 1))
        XCTAssertNil(StateTreeNodeSet.decode("ff", level: 0), "bits past the level's one node")
        let many = Array(stride(from: 3, to: 4096, by: 7))
        XCTAssertEqual(StateTreeNodeSet.decode(StateTreeNodeSet.encode(many, level: 3), level: 3), many)
        XCTAssertEqual(StateTreeNodeSet.encode(many, level: 3).count, 1024)
    }
}

/// The catalogue carries each collection's tree root, and older catalogues without it decode.
final class CatalogueTreeRootTests: XCTestCase {
    func testTheCatalogueCarriesTheTreeRoot() async throws {
        let path = NSTemporaryDirectory() + "hsdb-catalogue-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try await Database.open(at: path)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        try await c.upsert([Point(id: .integer(1), vector: [1, 0]), Point(id: .integer(2), vector: [0, 1])])
        let catalog = try ReplicationCatalog.of(db, epoch: 3)
        let now = c.stateTree()
        XCTAssertEqual(catalog.collections[0].tree, .init(lsn: now.lsn, points: 2, root: now.tree.root))
        XCTAssertEqual(try ReplicationCatalog.decode(catalog.json()), catalog)
        guard case .object(var top) = catalog.json(), case .array(var list)? = top["collections"], case .object(var entry) = list[0] else {
            return XCTFail("catalogue shape")
        }
        entry["tree"] = nil
        list[0] = .object(entry)
        top["collections"] = .array(list)
        XCTAssertNil(try ReplicationCatalog.decode(.object(top)).collections[0].tree, "a leader before the tree")
        entry["tree"] = .object(["lsn": 1])
        list[0] = .object(entry)
        top["collections"] = .array(list)
        XCTAssertThrowsError(try ReplicationCatalog.decode(.object(top)))
        try await db.close()
    }
}
