import Foundation
import HSDBCore
import HSDBTestSupport
import IPLD
import XCTest

@testable import HSDB
@testable import Replication

/// A bootstrap snapshot as a Merkle DAG: the root block as DESIGN.md gives it, and a real
/// collection's capture streamed as the leader's route sends it, laid out by the follower's
/// receiver byte for byte; a cut stream resumed by the blocks it lacks; a damaged block refused.
final class SnapshotDAGTests: XCTestCase {
    /// Computed with Python's dag-cbor and multiformats (DESIGN.md, "Bootstrap snapshots as DAGs").
    func testRootBlockGolden() throws {
        let root = SnapshotRoot(
            collection: "c", lsn: 42, hash: LogHash(bytes: (0..<32).map { UInt8($0) }),
            files: [.init(name: "collection.meta", bytes: 3, root: Block(codec: .raw, bytes: [1, 2, 3]).cid),
                    .init(name: "MANIFEST", bytes: 0, root: Block(codec: .raw, bytes: []).cid)])
        let bytes = root.encoded()
        XCTAssertEqual(bytes.lowercaseHex, "a6636c736e182a64686173685820000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            + "6566696c657382a3646e616d656f636f6c6c656374696f6e2e6d65746164726f6f74d82a58250001551220039058c6f2c0cb492c533b"
            + "0a4d14ef77cc0f78abccced5287d84a1a2011cfb8165627974657303a3646e616d65684d414e494645535464726f6f74d82a5825000155"
            + "1220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8556562797465730066666f726d617477687364622d62"
            + "6f6f7473747261702d736e617073686f746776657273696f6e016a636f6c6c656374696f6e6163")
        XCTAssertEqual(Block(codec: .dagCBOR, bytes: bytes).cid.text, "bafyreig5fu4q2aj7bp6hh6b7plnlyqgsntd4dz5n7wu72w6qgfyhxoqmze")
        XCTAssertEqual(try SnapshotRoot(decoding: bytes), root)
    }

    private func temporaryPath() -> String {
        let path = NSTemporaryDirectory() + "hsdb-dag-" + UUID().uuidString
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// A collection of 5,000 points in two segments (about 3 MB: several 256 KiB leaves each).
    private func capture(at path: String) async throws -> (PreparedSnapshot, SnapshotDAG, SnapshotOffer) {
        var options = DatabaseOptions()
        options.memtableFlushBytes = 1 << 30
        options.compaction.enabled = false
        let db = try await Database.open(at: path, options: options)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 128, hnswM: 8, hnswEfConstruction: 40))
        var rng = SplitMix64(seed: 5)
        for part in 0..<2 {
            let points = (0..<2500).map { i in
                Point(id: .integer(UInt64(part * 2500 + i)), vector: (0..<128).map { _ in Float(rng.next() % 1000) / 1000 })
            }
            try await c.upsert(points)
            try await c.flush()
        }
        let prepared = try await PreparedSnapshot.capture(c)
        let hash = LogHash(bytes: [UInt8](repeating: 9, count: 32))
        let dag = try SnapshotDAG(prepared, collection: "c", hash: hash)
        var offer = SnapshotOffer(name: "c-1", lsn: prepared.lsn, hash: hash, files: prepared.files.map(\.description))
        offer.root = dag.root
        try await db.close()
        return (prepared, dag, offer)
    }

    /// The CAR the leader's route sends for `cids`.
    private func car(_ cids: [CID], _ prepared: PreparedSnapshot, _ dag: SnapshotDAG) throws -> [UInt8] {
        var out = CARWriter.header(roots: [dag.root])
        for cid in cids {
            try dag.withBlock(cid, of: prepared) { block in
                out += try CARWriter.sectionHead(cid, blockBytes: block.count)
                out += block
            }
        }
        return out
    }

    private func feed(_ bytes: [UInt8], to receiver: SnapshotReceiver, chunk: Int = 100_000) throws {
        var parser = CARStreamParser(name: "test")
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            let sections = try bytes[start..<min(start + chunk, bytes.count)].withUnsafeBytes { try parser.push($0) }
            try receiver.take(sections)
        }
    }

    private func assertLaidOut(_ files: [(name: String, path: String)], _ prepared: PreparedSnapshot) throws {
        XCTAssertEqual(files.map(\.name), prepared.files.map(\.description.name))
        for (file, source) in zip(files, prepared.files) {
            let expected = source.withBytes(0..<source.description.bytes) { Array($0) }
            XCTAssertEqual(try POSIXFileSystem().readFile(file.path), expected, file.name)
        }
    }

    func testACaptureStreamsAsADAGAndIsLaidOutByteForByte() async throws {
        let root = temporaryPath()
        let (prepared, dag, offer) = try await capture(at: root + "/leader")
        XCTAssertGreaterThan(prepared.files.count, 3, "metadata, manifest, two segments")
        XCTAssertGreaterThan(dag.preorder.filter { $0.codec == .raw }.count, 6)
        let receiver = SnapshotReceiver(collection: "c", offer: offer, root: dag.root, directory: root + "/incoming")
        try feed(try car(dag.preorder, prepared, dag), to: receiver)
        XCTAssertTrue(receiver.isComplete)
        try assertLaidOut(try receiver.finish(), prepared)
    }

    func testACutStreamResumesWithTheBlocksItLacks() async throws {
        let root = temporaryPath()
        let (prepared, dag, offer) = try await capture(at: root + "/leader")
        let whole = try car(dag.preorder, prepared, dag)
        let first = SnapshotReceiver(collection: "c", offer: offer, root: dag.root, directory: root + "/incoming")
        try feed(Array(whole.prefix(whole.count / 2)), to: first)  // cut halfway: a section in flight is lost
        XCTAssertFalse(first.isComplete)
        // A new attempt: the structure, the part files read back, then only what is missing.
        let second = SnapshotReceiver(collection: "c", offer: offer, root: dag.root, directory: root + "/incoming")
        try feed(try car(dag.preorder.filter { $0.codec != .raw }, prepared, dag), to: second)
        let kept = try second.keepHeld()
        let missing = second.missing
        XCTAssertGreaterThan(kept, 512 << 10, "the leaves written before the cut are kept")
        XCTAssertLessThan(missing.count, Set(dag.preorder.filter { $0.codec == .raw }).count)
        XCTAssertTrue(missing.allSatisfy { $0.codec == .raw })
        try feed(try car(missing, prepared, dag), to: second)
        try assertLaidOut(try second.finish(), prepared)
    }

    func testADamagedBlockOrABlockOfAnotherDAGIsRefused() async throws {
        let root = temporaryPath()
        let (prepared, dag, offer) = try await capture(at: root + "/leader")
        var damaged = try car(dag.preorder, prepared, dag)
        damaged[damaged.count / 2] ^= 0x5A
        let receiver = SnapshotReceiver(collection: "c", offer: offer, root: dag.root, directory: root + "/a")
        XCTAssertThrowsError(try feed(damaged, to: receiver))
        let stranger = SnapshotReceiver(collection: "c", offer: offer, root: dag.root, directory: root + "/b")
        var other = try car([dag.root], prepared, dag)
        let alien = Block(codec: .raw, bytes: [1, 2, 3])
        other += try CARWriter.sectionHead(alien.cid, blockBytes: 3) + alien.bytes
        XCTAssertThrowsError(try feed(other, to: stranger)) { error in
            XCTAssertTrue("\(error)".contains("not linked"), "\(error)")
        }
        // A root block that is not the offer's.
        var wrongOffer = offer
        wrongOffer.root = alien.cid
        let misled = SnapshotReceiver(collection: "c", offer: wrongOffer, root: alien.cid, directory: root + "/c")
        XCTAssertThrowsError(try feed(try car(dag.preorder, prepared, dag), to: misled))
    }
}
