import Crypto
import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
import Logging
import XCTest

@testable import Replication

/// The engine side of replication, in one process: a leader's log read from any position
/// and applied to a follower at the same LSNs gives the same records and the same running
/// hash, across WAL files, restarts and flushes; what does not continue the log is refused.
final class LogShippingTests: XCTestCase {
    static let config = CollectionConfig(dimension: 8, metric: .cosine)

    private func path(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "hsdb-repl-\(name)-" + UUID().uuidString
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private func options(follower: Bool) -> DatabaseOptions {
        var o = DatabaseOptions()
        o.walFileSize = 16 << 10  // many WAL files
        o.memtableFlushBytes = 64 << 10
        o.memtableStallBytes = 1 << 20
        o.writesWALCloseMarkers = !follower
        o.verifySegmentsOnOpen = false
        return o
    }

    private func write(_ c: Collection, rounds: Int, rng: inout SplitMix64) async throws {
        for _ in 0..<rounds {
            let points = (0..<5).map { _ in
                let id = rng.next() % 300
                return Point(id: .integer(id), vector: (0..<8).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }, payload: ["n": .int(Int64(id))])
            }
            try await c.upsert(points)
            if rng.next() % 4 == 0 { try await c.delete(ids: [.integer(rng.next() % 300)]) }
        }
    }

    /// Ships everything after the follower's last LSN, in batches of at most `batch` records.
    private func ship(from leader: Collection, to follower: Collection, batch: Int = 37) async throws {
        var reader = try leader.walReader(after: follower.lastCommit.lsn)
        while reader.nextLSN <= leader.durableLSN {
            let entries = try reader.read(through: leader.durableLSN, maxBytes: 1 << 20)
            var at = 0
            while at < entries.count {
                try await follower.applyReplicated(Array(entries[at..<min(at + batch, entries.count)]))
                at += batch
            }
        }
    }

    private func all(_ c: Collection) throws -> [Record] {
        try c.scroll(limit: 10_000, projection: Projection(withVector: true, withPayload: true)).points
    }

    func testShippedLogGivesTheSameRecordsAndHashAcrossFilesRestartsAndFlushes() async throws {
        let (leaderPath, followerPath) = (path("leader"), path("follower"))
        var rng = SplitMix64(seed: 7)
        var leaderDB = try await Database.open(at: leaderPath, options: options(follower: false))
        var followerDB = try await Database.open(at: followerPath, options: options(follower: true))
        var leader = try await leaderDB.createCollection("c", config: Self.config)
        var follower = try await followerDB.createCollection("c", config: Self.config)
        // The chains are opened at once (as the servers do), so each pins its log from LSN 1.
        _ = (try await LogChain.open(leader), try await LogChain.open(follower))
        for round in 0..<3 {
            try await write(leader, rounds: 120, rng: &rng)
            try await ship(from: leader, to: follower)
            XCTAssertEqual(follower.lastCommit.lsn, leader.durableLSN, "round \(round)")
            XCTAssertEqual(try all(follower), try all(leader), "round \(round)")
            let (l, f) = (try await LogChain.open(leader), try await LogChain.open(follower))
            let (lt, ft) = (await l.tip, await f.tip)
            XCTAssertEqual(lt.lsn, ft.lsn)
            XCTAssertEqual(lt.hash, ft.hash, "round \(round): the running hashes agree")
            // Both restart: the leader's close marker takes an LSN and is shipped; the
            // follower takes none of its own.
            try await leaderDB.close()
            try await followerDB.close()
            leaderDB = try await Database.open(at: leaderPath, options: options(follower: false))
            followerDB = try await Database.open(at: followerPath, options: options(follower: true))
            leader = try leaderDB.collection("c")
            follower = try followerDB.collection("c")
            XCTAssertEqual(follower.lastCommit.lsn, ft.lsn, "the follower's log ends where the shipped log did")
            XCTAssertEqual(leader.lastCommit.lsn, lt.lsn + 1, "the leader's close marker")
        }
        try await ship(from: leader, to: follower)
        let (l, f) = (try await LogChain.open(leader), try await LogChain.open(follower))
        let (lt, ft) = (await l.tip, await f.tip)
        XCTAssertEqual(lt.lsn, ft.lsn)
        XCTAssertEqual(lt.hash, ft.hash)
        // The hash at any earlier LSN is found from the checkpoints and agrees too.
        for lsn in [UInt64(0), 1, lt.lsn / 3, lt.lsn / 2, lt.lsn - 1] {
            let (a, b) = (try await l.hash(at: lsn), try await f.hash(at: lsn))
            XCTAssertNotNil(a, "LSN \(lsn)")
            XCTAssertEqual(a, b, "LSN \(lsn)")
        }
        // The state digests agree; one point changed on one side is found, in its bucket.
        let (dl, df) = (try await StateDigest.compute(leader), try await StateDigest.compute(follower))
        XCTAssertEqual(dl.lsn, df.lsn)
        XCTAssertEqual(dl.points, try all(leader).count)
        XCTAssertEqual(dl.root, df.root)
        XCTAssertEqual(dl.buckets, df.buckets)
        // So do the state trees, at the same LSN, with the same point count.
        let (kl, kf) = (StateDigest.kept(leader), StateDigest.kept(follower))
        XCTAssertEqual(kl.lsn, dl.lsn)
        XCTAssertEqual(kl.points, dl.points)
        XCTAssertEqual(kl.root, kf.root)
        XCTAssertNotEqual(kl.root, dl.root, "the two kinds hash different leaves")
        XCTAssertEqual(try StateDigest.decode(kl.json()), kl, "the JSON codec round-trips")
        try await follower.upsert([Point(id: .integer(7), vector: [1, 0, 0, 0, 0, 0, 0, 1], payload: ["changed": true])])
        let changed = try await StateDigest.compute(follower)
        XCTAssertNotEqual(changed.root, dl.root)
        let differing = (0..<StateDigest.bucketCount).filter { changed.buckets[$0] != dl.buckets[$0] }
        XCTAssertEqual(differing.count, 1)
        let listed = try await StateDigest.compute(follower, leavesOf: differing[0])
        XCTAssertTrue(listed.leaves!.contains { $0.id == "7" })
        XCTAssertEqual(try StateDigest.decode(listed.json()), listed, "the JSON codec round-trips")
        // The trees, descended, name point 7 and nothing else.
        let (tl, tf) = (leader.stateTree(), follower.stateTree())
        let found = try await StateTreeComparison.locate(LocalStateTree(tl.tree, lsn: tl.lsn), LocalStateTree(tf.tree, lsn: tf.lsn))
        XCTAssertEqual(found.ids, ["7"])
        XCTAssertEqual(found.changed.first?.second, tf.lsn)
        XCTAssertEqual(found.buckets, [StateTree.bucket(of: .integer(7))])
        let keptListed = StateDigest.kept(follower, leavesOf: found.buckets[0])
        XCTAssertEqual(keptListed.leaves!.first { $0.id == "7" }?.version, tf.lsn)
        XCTAssertEqual(try StateDigest.decode(keptListed.json()), keptListed)
        try await leaderDB.close()
        try await followerDB.close()
    }

    func testRecordsThatDoNotContinueTheLogAreRefusedAndChangeNothing() async throws {
        var rng = SplitMix64(seed: 9)
        let leaderDB = try await Database.open(at: path("leader"), options: options(follower: false))
        let followerDB = try await Database.open(at: path("follower"), options: options(follower: true))
        let leader = try await leaderDB.createCollection("c", config: Self.config)
        let follower = try await followerDB.createCollection("c", config: Self.config)
        try await write(leader, rounds: 20, rng: &rng)
        var reader = try leader.walReader(after: 0)
        let entries = try reader.read(through: leader.durableLSN, maxBytes: 1 << 20)
        XCTAssertEqual(entries.map(\.lsn), Array(1...leader.durableLSN))
        try await follower.applyReplicated(Array(entries[0..<5]))
        let before = try all(follower)
        // A gap, a repeat, and a batch whose second record skips an LSN.
        for bad in [Array(entries[6..<8]), Array(entries[4..<6]), [entries[5], entries[7]]] {
            do {
                try await follower.applyReplicated(bad)
                XCTFail("LSNs \(bad.map(\.lsn)) were taken after LSN 5")
            } catch HSDBError.invalidArgument(let message) {
                XCTAssertTrue(message.contains("LSN"), message)
            }
            XCTAssertEqual(follower.lastCommit.lsn, 5)
            XCTAssertEqual(try all(follower), before)
        }
        // A body that does not decode is refused before anything is written.
        var garbled = entries[5]
        garbled = WALEntry(lsn: garbled.lsn, type: garbled.type, body: Array(garbled.body.prefix(3)))
        await XCTAssertThrowsAsync(try await follower.applyReplicated([garbled]))
        XCTAssertEqual(follower.lastCommit.lsn, 5)
        try await follower.applyReplicated(Array(entries[5...]))
        XCTAssertEqual(try all(follower), try all(leader))
        try await leaderDB.close()
        try await followerDB.close()
    }

    func testLeaderChecksPositionsAndKeepsTheLogForItsFollowers() async throws {
        var rng = SplitMix64(seed: 11)
        let db = try await Database.open(at: path("leader"), options: options(follower: false))
        let c = try await db.createCollection("c", config: Self.config)
        try await write(c, rounds: 40, rng: &rng)
        let leader = ReplicationLeader(db: db, epoch: 1, logger: Logger(label: "test"))
        let chain = try await leader.chain(c)
        let tip = await chain.tip
        let at10 = try await chain.hash(at: 10)!
        _ = try await leader.checkPosition(c, lsn: 10, hash: at10)
        _ = try await leader.checkPosition(c, lsn: 0, hash: .origin)
        func refused(_ lsn: UInt64, _ hash: LogHash, _ fragment: String) async {
            do {
                _ = try await leader.checkPosition(c, lsn: lsn, hash: hash)
                XCTFail("position \(lsn) was taken")
            } catch ReplicationError.bootstrapNeeded(_, let reason) {
                XCTAssertTrue(reason.contains(fragment), reason)
            } catch {
                XCTFail("\(error)")
            }
        }
        await refused(10, tip.hash, "diverged")
        await refused(tip.lsn + 5, tip.hash, "past the leader")
        // A follower's acknowledgement pins the log after what it holds; the anchor follows
        // the slowest follower (to a checkpoint at or before it), and no further.
        let node = UUID().uuidString.lowercased()
        try await leader.acknowledge(c, node: node, durable: 3, applied: 3)
        XCTAssertEqual(c.walPinLSNs[ReplicationLeader.slotPrefix + node], 4)
        try await write(c, rounds: 400, rng: &rng)
        await leader.moveAnchors()
        let held = await chain.anchorLSN
        XCTAssertEqual(held, 3, "the anchor follows the follower at LSN 3, and no further")
        _ = try await leader.checkPosition(c, lsn: 3, hash: try await chain.hash(at: 3)!)
        // Its lag in bytes: every record after LSN 3 as on disk (28-byte header and body),
        // from a checkpoint, the same from any LSN; 0 once it acknowledges the tip.
        while c.durableLSN < 1500 { try await write(c, rounds: 100, rng: &rng) }  // past a checkpoint
        var reader = try c.walReader(after: 3)
        var entries: [WALEntry] = []
        while reader.nextLSN <= c.durableLSN { entries += try reader.read(through: c.durableLSN, maxBytes: 8 << 20) }
        func bytes(after lsn: UInt64) -> UInt64 {
            entries.filter { $0.lsn > lsn }.reduce(0) { $0 + 28 + UInt64($1.body.count) }
        }
        for lsn: UInt64 in [3, 1024, 1500, c.durableLSN - 1, c.durableLSN] {
            let counted = try await chain.bytes(after: lsn)
            XCTAssertEqual(counted, bytes(after: lsn), "after LSN \(lsn)")
        }
        let lagging = await leader.status().first { $0.node == node }
        XCTAssertEqual(lagging?.lagBytes, bytes(after: 3))
        XCTAssertEqual(lagging?.lagRecords, c.durableLSN - 3)
        let beforeAnchor = try await chain.bytes(after: 2)
        XCTAssertNil(beforeAnchor, "before the anchor the chain does not count")
        try await leader.acknowledge(c, node: node, durable: c.durableLSN, applied: c.durableLSN)
        let caughtUp = await leader.status().first { $0.node == node }
        XCTAssertEqual(caughtUp?.lagBytes, 0)
        await leader.moveAnchors()
        let anchor = await chain.anchorLSN
        XCTAssertGreaterThan(c.flushedLSN, 3)
        XCTAssertEqual(anchor, min(c.durableLSN, c.flushedLSN), "with its only follower at the tip, the anchor moves to what is flushed")
        XCTAssertEqual(c.walPinLSNs[LogChain.pinName], anchor + 1)
        await refused(3, at10, "before the leader's retained log")
        // The anchor survives a restart: a reopened chain starts from it.
        let reopened = try await LogChain.open(c)
        let (reopenedAnchor, reopenedTip, tipNow) = (await reopened.anchorLSN, await reopened.tip, await chain.tip)
        XCTAssertEqual(reopenedAnchor, anchor)
        XCTAssertEqual(reopenedTip.hash, tipNow.hash)
        try await db.close()
    }
}

extension LogShippingTests {
    func testASlotHoldingTooMuchWALIsDroppedAndItsFollowerMustBootstrap() async throws {
        var rng = SplitMix64(seed: 13)
        let db = try await Database.open(at: path("leader"), options: options(follower: false))
        let c = try await db.createCollection("c", config: Self.config)
        let leader = ReplicationLeader(db: db, epoch: 1, logger: Logger(label: "test"), slotMaxBytes: 32 << 10)
        try await write(c, rounds: 10, rng: &rng)
        let (slow, fast) = (UUID().uuidString.lowercased(), UUID().uuidString.lowercased())
        try await leader.acknowledge(c, node: slow, durable: 3, applied: 3)
        try await write(c, rounds: 400, rng: &rng)
        try await leader.acknowledge(c, node: fast, durable: c.durableLSN, applied: c.durableLSN)
        XCTAssertGreaterThan(try c.walBytes(from: 4), 32 << 10)
        await leader.moveAnchors()
        XCTAssertEqual(leader.droppedSlots.load(ordering: .relaxed), 1)
        XCTAssertNil(c.walPinLSNs[ReplicationLeader.slotPrefix + slow], "the slow follower's slot is gone")
        XCTAssertEqual(c.walPinLSNs[ReplicationLeader.slotPrefix + fast], c.durableLSN + 1, "the other is kept")
        let chain = try await leader.chain(c)
        let h3 = try await chain.hash(at: 3)
        do {
            _ = try await leader.checkPosition(c, lsn: 3, hash: h3 ?? .origin, node: slow)
            XCTFail("a follower whose slot was dropped was streamed to")
        } catch ReplicationError.bootstrapNeeded(_, let reason) {
            XCTAssertTrue(reason.contains("slot was dropped"), reason)
        }
        // Its acknowledgements pin nothing until it bootstraps; the snapshot gives it a slot again.
        try await leader.acknowledge(c, node: slow, durable: 5, applied: 5)
        XCTAssertNil(c.walPinLSNs[ReplicationLeader.slotPrefix + slow])
        let offer = try await leader.prepareSnapshot(c, node: slow)
        XCTAssertEqual(c.walPinLSNs[ReplicationLeader.slotPrefix + slow], offer.lsn + 1)
        _ = try await leader.checkPosition(c, lsn: offer.lsn, hash: offer.hash, node: slow)
        try await db.close()
    }

    /// A bootstrap snapshot is served from the capture's mappings: a merge that retires its
    /// segments afterwards changes no byte of what the offer lists.
    func testASnapshotOfferServesItsFilesAfterAMergeRetiresThem() async throws {
        let dir = path("offer")
        let db = try await Database.open(at: dir, options: options(follower: false))
        let c = try await db.createCollection("c", config: Self.config)
        var rng = SplitMix64(seed: 21)
        for _ in 0..<3 {
            try await write(c, rounds: 40, rng: &rng)
            try await c.flush()
        }
        let leader = ReplicationLeader(db: db, epoch: 1, logger: Logger(label: "test"))
        let offer = try await leader.prepareSnapshot(c, node: "f")
        XCTAssertEqual(offer.lsn, c.flushedLSN)
        let segments = offer.files.filter { $0.name.hasSuffix(".seg") }
        XCTAssertGreaterThanOrEqual(segments.count, 2)
        XCTAssertEqual(Set(offer.files.map(\.name)).subtracting(segments.map(\.name)), ["collection.meta", "MANIFEST"])
        try await c.compact()
        let segmentsDirectory = dir + "/collections/c/segments"
        let left = try FileManager.default.contentsOfDirectory(atPath: segmentsDirectory)
        XCTAssertTrue(segments.contains { !left.contains($0.name) }, "the merge retired an offered segment")
        for f in offer.files {
            let file = try XCTUnwrap(leader.snapshotFile(offer.name, f.name))
            let sha = file.withBytes(0..<f.bytes) { SHA256.hash(data: $0).map { String(format: "%02x", $0) }.joined() }
            XCTAssertEqual(sha, f.sha256, f.name)
        }
        XCTAssertNil(leader.snapshotFile(offer.name, "other.seg"))
        XCTAssertNil(leader.snapshotFile("another", "MANIFEST"))
        try await db.close()
    }
}
func XCTAssertThrowsAsync<T>(_ body: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async {
    do {
        _ = try await body()
        XCTFail("expected an error", file: file, line: line)
    } catch {}
}
