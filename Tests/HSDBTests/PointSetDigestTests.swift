import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

/// The kept state digest: golden bytes, and equality with a digest of the model after every
/// kind of change (upserts with repeated ids, deletes of present and absent ids, flushes,
/// merges, reopen, and the computation from the files alone).
final class PointSetDigestTests: XCTestCase {
    // Golden values computed by Python's hashlib and a bitwise CRC-32C, independent of hsdb.
    func testGoldenBytes() {
        XCTAssertEqual(PointSetDigest.bucket(of: .integer(5)), 233)
        XCTAssertEqual(hex(PointSetDigest.leaf(.integer(5), version: 6)), "c3340470463e0502c10a3609f6065910a4b304a128c6bfceb934f37b8cbcfb1e")
        let uuid = PointID.uuid(UUID(uuidString: "00112233-4455-6677-8899-aabbccddeeff")!)
        XCTAssertEqual(PointSetDigest.bucket(of: uuid), 222)
        XCTAssertEqual(hex(PointSetDigest.leaf(uuid, version: 9)), "88679512054f29ed7b086563fbda2bc9a053fa668aaa39f27c9decbd738c31df")
        var d = PointSetDigest()
        XCTAssertEqual(hex(d.root), "9f1dcbc35c350d6027f98be0f5c8b43b42ca52b7604459c0c42be3aa88913d47", "SHA-256 of 8192 zero bytes")
        d.insert(.integer(5), version: 6)
        d.insert(uuid, version: 9)
        XCTAssertEqual(hex(d.root), "023d5d88dd58e1c64d0fb690ce4c7eb0c116a4f997d87592fcc1a320ba8ed784")
        XCTAssertEqual(hex(d.bucketHash(233)), "c3340470463e0502c10a3609f6065910a4b304a128c6bfceb934f37b8cbcfb1e")
        XCTAssertEqual(d.points, 2)
        d.remove(uuid, version: 9)
        d.remove(.integer(5), version: 6)
        XCTAssertEqual(d, PointSetDigest(), "removing every leaf gives the empty digest back")
    }

    func expected(_ model: EngineModel) -> PointSetDigest {
        var d = PointSetDigest()
        for (id, e) in model.points { d.insert(id, version: e.version) }
        return d
    }

    func testKeptDigestFollowsEveryChange() async throws {
        let path = temporaryDatabasePath(self)
        var options = DatabaseOptions()
        options.memtableFlushBytes = 1 << 30
        options.minGraphPoints = 50
        options.compaction.enabled = false
        var db = try await Database.open(at: path, options: options)
        var c = try await db.createCollection("c", config: CollectionConfig(dimension: 4, hnswM: 8, hnswEfConstruction: 40))
        var rng = SplitMix64(seed: 20261204)
        var model = EngineModel(metric: .cosine)
        XCTAssertEqual(c.digest().digest, PointSetDigest())
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
            let kept = c.digest()
            XCTAssertEqual(kept.digest, expected(model), "step \(step)")
            XCTAssertEqual(kept.lsn, c.appliedLSN)
            if step % 15 == 14 {
                try await db.close()
                let lsn = kept.lsn
                let fromFiles = try DirectoryDigest.compute(
                    collectionDirectory: path + "/collections/c", at: [lsn], through: lsn, fileSystem: POSIXFileSystem())
                XCTAssertEqual(fromFiles[lsn], expected(model), "computed from the files alone, step \(step)")
                db = try await Database.open(at: path, options: options)
                c = try db.collection("c")
                XCTAssertEqual(c.digest().digest, expected(model), "rebuilt at open, step \(step)")
            }
        }
        // A bucket's listing is exactly the model's points in it, with their leaves.
        let bucket = PointSetDigest.bucket(of: model.points.keys.first!)
        let listed = try XCTUnwrap(c.digest(listingBucket: bucket).bucketPoints)
        let want = model.points.filter { PointSetDigest.bucket(of: $0.key) == bucket }.sorted { $0.key < $1.key }
        XCTAssertEqual(listed.map(\.id), want.map(\.key))
        XCTAssertEqual(listed.map(\.version), want.map(\.value.version))
        try await db.close()
    }

    func testDigestAtIntermediateLSNsFromFiles() async throws {
        let path = temporaryDatabasePath(self)
        var options = DatabaseOptions()
        options.compaction.enabled = false
        let db = try await Database.open(at: path, options: options)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        var model = EngineModel(metric: .cosine)
        var at: [UInt64: PointSetDigest] = [:]
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
