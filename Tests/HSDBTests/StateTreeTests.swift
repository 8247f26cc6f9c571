import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

/// The state tree: golden bytes, and equality with a tree of the model after every kind of
/// change (upserts with repeated ids, deletes of present and absent ids, flushes, merges,
/// reopen, and the computation from the files alone).
final class StateTreeTests: XCTestCase {
    // Golden values computed by Python's hashlib and a bitwise CRC-32C, independent of hsdb.
    func testGoldenBytes() {
        XCTAssertEqual(StateTree.bucket(of: .integer(5)), 2025)
        XCTAssertEqual(hex(StateTree.leaf(.integer(5), version: 6)), "c3340470463e0502c10a3609f6065910a4b304a128c6bfceb934f37b8cbcfb1e")
        let uuid = PointID.uuid(UUID(uuidString: "00112233-4455-6677-8899-aabbccddeeff")!)
        XCTAssertEqual(StateTree.bucket(of: uuid), 3294)
        XCTAssertEqual(hex(StateTree.leaf(uuid, version: 9)), "88679512054f29ed7b086563fbda2bc9a053fa668aaa39f27c9decbd738c31df")
        var t = StateTree()
        XCTAssertEqual(hex(t.root), "496bf7851c537d3b806488b5bcfd1e4f4a9f911c3a8b865a2ac54aa2f62e6995")
        XCTAssertEqual(hex(t.hash(level: 3, index: 0)), "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a", "SHA-256(0x01)")
        XCTAssertEqual(hex(t.xorRoot), "9f1dcbc35c350d6027f98be0f5c8b43b42ca52b7604459c0c42be3aa88913d47", "the earlier digest: SHA-256 of 8192 zero bytes")
        t.insert(.integer(5), version: 6)
        t.insert(uuid, version: 9)
        t.settle()
        XCTAssertEqual(hex(t.root), "660acfe5fa348fc1573ca57814202b04f2b8bb42effcbf0dc4375f169ecc6b01")
        XCTAssertEqual(hex(t.hash(level: 3, index: 2025)), "09b20a2cff249f82e098215d3ebc562e5bcba8948c8d9135857899741ea03e2c")
        XCTAssertEqual(hex(t.xorRoot), "023d5d88dd58e1c64d0fb690ce4c7eb0c116a4f997d87592fcc1a320ba8ed784", "the earlier digest's golden root")
        XCTAssertEqual(t.points, 2)
        t.remove(uuid, version: 9)
        t.remove(.integer(5), version: 6)
        t.remove(.integer(5), version: 6)  // not held: no change
        XCTAssertEqual(t, StateTree(), "removing every leaf gives the empty tree back")
        XCTAssertEqual(t.settled().root, StateTree().root)
        // Two points of one bucket (3101 and 4096, bucket 517): leaves sorted bytewise.
        var pair = StateTree()
        pair.insert(.integer(4096), version: 2)
        pair.insert(.integer(3101), version: 1)
        pair.settle()
        XCTAssertEqual(hex(pair.hash(level: 3, index: 517)), "c92da9a7f89853b3f9c1f719a5337e18bea2322e20eb362250ff04de6c9f1306")
        XCTAssertEqual(hex(pair.root), "59626905f5e40da554e25f52929e7704b84459c98790b1c56258736aaa0809de")
    }

    /// Every node of a settled tree against a recomputation from its leaves alone.
    func testNodesMatchARecomputation() {
        var rng = SplitMix64(seed: 7)
        var t = StateTree()
        var live: [PointID: UInt64] = [:]
        for step in 0..<3000 {
            let id = PointID.integer(rng.next() % 2000)
            if let old = live[id] { t.remove(id, version: old) }
            if rng.next() % 4 == 0 {
                live[id] = nil
            } else {
                live[id] = UInt64(step)
                t.insert(id, version: UInt64(step))
            }
            if step % 500 == 0 { t.settle() }  // partly settled trees settle the rest right
        }
        var fresh = StateTree()
        for (id, v) in live { fresh.insert(id, version: v) }
        XCTAssertEqual(t, fresh)
        t.settle()
        fresh.settle()
        for level in 0...StateTree.depth {
            for i in 0..<(1 << (4 * level)) { XCTAssertEqual(t.hash(level: level, index: i), fresh.hash(level: level, index: i)) }
        }
        XCTAssertEqual(t.points, live.count)
    }

    func expected(_ model: EngineModel) -> StateTree {
        var d = StateTree()
        for (id, e) in model.points { d.insert(id, version: e.version) }
        return d
    }

    func testKeptTreeFollowsEveryChange() async throws {
        let path = temporaryDatabasePath(self)
        var options = DatabaseOptions()
        options.memtableFlushBytes = 1 << 30
        options.minGraphPoints = 50
        options.compaction.enabled = false
        var db = try await Database.open(at: path, options: options)
        var c = try await db.createCollection("c", config: CollectionConfig(dimension: 4, hnswM: 8, hnswEfConstruction: 40))
        var rng = SplitMix64(seed: 20261204)
        var model = EngineModel(metric: .cosine)
        XCTAssertEqual(c.stateTree().tree, StateTree())
        for step in 0..<60 {
            switch rng.next() % 10 {
            case 0..<5:
                // Repeated ids within a batch: the last one wins, one leaf each.
                let batch = (0..<(1 + Int(rng.next() % 40))).map { _ in Point(id: .integer(rng.next() % 300), vector: randomVector(4, &rng)) }
                model.upsert(batch, lsn: try await c.upsert(batch).lsn)
            case 5..<7:
                let doomed = (0..<(1 + Int(rng.next() % 20))).map { _ in PointID.integer(rng.next() % 400) }  // some absent, some repeated
                try await c.delete(ids: doomed)
                model.delete(doomed)
            case 7, 8:
                try await c.flush()
            default:
                try await c.compact()
            }
            let kept = c.stateTree()
            XCTAssertEqual(kept.tree, expected(model), "step \(step)")
            XCTAssertEqual(kept.tree.root, expected(model).settled().root, "step \(step)")
            XCTAssertEqual(kept.lsn, c.appliedLSN)
            if step % 15 == 14 {
                try await db.close()
                let lsn = kept.lsn
                let fromFiles = try DirectoryDigest.compute(
                    collectionDirectory: path + "/collections/c", at: [lsn], through: lsn, fileSystem: POSIXFileSystem())
                XCTAssertEqual(fromFiles[lsn], expected(model), "computed from the files alone, step \(step)")
                db = try await Database.open(at: path, options: options)
                c = try db.collection("c")
                XCTAssertEqual(c.stateTree().tree, expected(model), "rebuilt at open, step \(step)")
            }
        }
        // A bucket's leaves are exactly the model's points in it.
        let bucket = StateTree.bucket(of: model.points.keys.first!)
        let listed = c.stateTree().tree.leaves(ofBucket: bucket).sorted { $0.id < $1.id }
        let want = model.points.filter { StateTree.bucket(of: $0.key) == bucket }.sorted { $0.key < $1.key }
        XCTAssertEqual(listed.map(\.id), want.map(\.key))
        XCTAssertEqual(listed.map(\.version), want.map(\.value.version))
        try await db.close()
    }

    func testTreeAtIntermediateLSNsFromFiles() async throws {
        let path = temporaryDatabasePath(self)
        var options = DatabaseOptions()
        options.compaction.enabled = false
        let db = try await Database.open(at: path, options: options)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        var model = EngineModel(metric: .cosine)
        var at: [UInt64: StateTree] = [:]
        let first = [Point(id: .integer(1), vector: [1, 0]), Point(id: .integer(2), vector: [0, 1])]
        model.upsert(first, lsn: try await c.upsert(first).lsn)
        try await c.flush()
        at[c.appliedLSN] = expected(model)
        for i in 0..<10 {
            let p = [Point(id: .integer(UInt64(i % 3)), vector: [1, Float(i)])]
            model.upsert(p, lsn: try await c.upsert(p).lsn)
            if i % 4 == 3 {
                try await c.delete(ids: [.integer(1)])
                model.delete([.integer(1)])
            }
            at[c.appliedLSN] = expected(model)
        }
        let last = c.appliedLSN
        try await db.close()
        let found = try DirectoryDigest.compute(
            collectionDirectory: path + "/collections/c", at: Set(at.keys).union([last + 5]), through: last, fileSystem: POSIXFileSystem())
        XCTAssertEqual(found, at, "every LSN from the flushed one to the last, and none past it")
        // Asked only for early LSNs, the replay stops reading after them.
        let early = at.keys.sorted()[2]
        let stopped = try DirectoryDigest.compute(collectionDirectory: path + "/collections/c", at: [early], through: last, fileSystem: POSIXFileSystem())
        XCTAssertEqual(stopped, [early: at[early]!])
    }

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
