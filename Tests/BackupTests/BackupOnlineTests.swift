@testable import Backup
import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
import Logging
import XCTest

/// Online backups (`ContinuousArchiver`): taken while writes, flushes and WAL retention run,
/// restored to many targets against the model; archiving failures keep the WAL; the bound.
final class BackupOnlineTests: XCTestCase {
    /// Tiny WAL files, none kept once flushed, small memtables: without the archive's pin the
    /// log between two backups would be gone before the second one.
    private func fixture(seed: UInt64) throws -> BackupFixture {
        let f = try BackupFixture(seed: seed)
        f.options.walFileSize = 1_024
        f.options.walRetention = WALRetentionPolicy(maxAgeSeconds: nil, maxBytes: 0)
        f.options.memtableFlushBytes = 4_096
        return f
    }

    private func makeArchiver(_ db: Database, _ f: BackupFixture, fs: any FileSystem = POSIXFileSystem(), maxRetained: Int64 = 1 << 30) -> ContinuousArchiver {
        var settings = ContinuousArchiver.Settings(directory: f.backups)
        settings.maxRetainedBytes = maxRetained
        return ContinuousArchiver(database: db, settings: settings, logger: Logger(label: "test"), fileSystem: fs)
    }

    func testBackupsTakenWhileWritesRunRestoreToEveryTargetAsTheModel() async throws {
        let f = try fixture(seed: 31)
        try await f.create(["alpha", "beta"])
        let db = try await f.open()
        let archiver = makeArchiver(db, f)
        for round in 0..<6 {
            // Backups at random moments while the writes (and the flushes they cause) run.
            let pauses = (0..<3).map { _ in Int(f.random.next() % 4) }
            async let backups: Void = {
                for pause in pauses {
                    try await Task.sleep(for: .milliseconds(pause))
                    _ = try await archiver.backupNow()
                }
            }()
            for _ in 0..<(25 + round * 5) { try await f.step() }
            try await backups
        }
        let last = try await archiver.backupNow()
        XCTAssertEqual(archiver.status.backups, 19)
        for c in last.archive.root.collections {
            XCTAssertEqual(try db.collection(c.name).walPinLSNs[ContinuousArchiver.pinName], c.flushedLSN + 1,
                           "the archive pins the log from the last backup's flushed LSN")
            // The root records the kept digest at the backup's last LSN (no write since).
            let kept = try db.collection(c.name).stateTree()
            XCTAssertEqual(c.digest, BackupCollection.Digest(kind: .tree, lsn: kept.lsn, points: UInt64(kept.tree.points), root: kept.tree.root))
        }
        let listing = try BackupListing.read(directory: f.backups)
        for w in listing.windows {
            XCTAssertEqual(w.ranges, [0...f.history[w.collection]!.last!.0], "collection \(w.collection): one window, from LSN 0 to the end")
        }
        var random = SplitMix64(seed: 5)
        var digestsChecked = 0
        for i in 0..<100 {
            let w = listing.windows[Int(random.next() % 2)]
            let lsn = random.next() % (w.ranges[0].upperBound + 1)
            let target = f.target("lsn-\(i)")
            let reached = try BackupRestore.restore(from: f.backups, to: target, collection: w.collection, at: .lsn(lsn))
            XCTAssertEqual(reached.map(\.lsn), [lsn])
            XCTAssertTrue(reached[0].digestsChecked.allSatisfy { $0 <= lsn })
            digestsChecked += reached[0].digestsChecked.count
            try await check(target, [w.collection: lsn], f)
        }
        XCTAssertGreaterThan(digestsChecked, 0, "restores check the digests of the backups they pass")
        let target = f.target("latest")
        let reached = try BackupRestore.restore(from: f.backups, to: target)
        for r in reached { XCTAssertTrue(r.digestsChecked.contains(r.lsn), "the latest restore matches the last backup's digest") }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: reached.map { ($0.name, $0.lsn) }),
                       f.history.mapValues { $0.last!.0 })
        try await check(target, Dictionary(uniqueKeysWithValues: reached.map { ($0.name, $0.lsn) }), f)
        for name in ["alpha", "beta"] {
            XCTAssertNil(try db.collection(name).walPinLSNs[HSDB.Collection.backupCapturePin], "a capture removes its pin")
        }
        // A server without --backup-dir releases the archive's pins.
        let released = try await ContinuousArchiver.releasePins(of: db)
        XCTAssertEqual(released, ["alpha", "beta"])
        XCTAssertNil(try db.collection("alpha").walPinLSNs[ContinuousArchiver.pinName])
        try await f.close()
    }

    /// The archive's first pin is set by the capture itself, before the CAR is written: a
    /// flush and retention while the first backup is written cannot take the log after the
    /// state it holds (the CI run that found the gap had a flush in exactly that moment).
    func testTheCaptureSetsTheArchivePinWhenThereIsNone() async throws {
        let f = try fixture(seed: 34)
        try await f.create(["alpha"])
        let db = try await f.open()
        for _ in 0..<40 { try await f.step() }
        let alpha = try db.collection("alpha")
        XCTAssertNil(alpha.walPinLSNs[ContinuousArchiver.pinName])
        let view = try await alpha.backupView(keepingPin: ContinuousArchiver.pinName)
        XCTAssertEqual(alpha.walPinLSNs[ContinuousArchiver.pinName], view.flushedLSN + 1)
        XCTAssertNil(alpha.walPinLSNs[HSDB.Collection.backupCapturePin])
        // Flushes and retention now keep every WAL file after the view's state.
        for _ in 0..<40 { try await f.step() }
        try await alpha.flush()
        XCTAssertLessThanOrEqual(try firstWALLSN(f, "alpha"), view.flushedLSN + 1)
        // An existing pin is left where it is (the last success put it there).
        try await alpha.pinWAL(ContinuousArchiver.pinName, from: 3)
        _ = try await alpha.backupView(keepingPin: ContinuousArchiver.pinName)
        XCTAssertEqual(alpha.walPinLSNs[ContinuousArchiver.pinName], 3)
        try await f.close()
    }

    /// The archiver backs up again when anything a restore would show changed: a write, and
    /// also a payload index, which changes the manifest without a WAL record.
    func testAChangeWithoutAWALRecordStillCausesABackup() async throws {
        let f = try fixture(seed: 35)
        try await f.create(["alpha"])
        let db = try await f.open()
        for _ in 0..<10 { try await f.step() }
        let archiver = makeArchiver(db, f)
        XCTAssertTrue(archiver.changed(), "nothing archived yet")
        _ = try await archiver.backupNow()
        XCTAssertFalse(archiver.changed())
        try await db.collection("alpha").createPayloadIndex("s", type: .keyword)
        XCTAssertTrue(archiver.changed(), "a new payload index is a change")
        _ = try await archiver.backupNow()
        XCTAssertFalse(archiver.changed())
        _ = try await db.collection("alpha").upsert([Point(id: .integer(1), vector: [1, 2, 3, 4], payload: [:])])
        XCTAssertTrue(archiver.changed(), "a write is a change")
        try await f.close()
    }

    func testAFailingArchiveKeepsTheWALItNeedsThenResumesAndTheBoundBreaksTheChain() async throws {
        let f = try fixture(seed: 32)
        try await f.create(["alpha"])
        let db = try await f.open()
        let faults = FaultInjectingFileSystem()
        let archiver = makeArchiver(db, f, fs: faults, maxRetained: 1 << 30)
        for _ in 0..<30 { try await f.step() }
        _ = try await archiver.backupNow()
        let alpha = try db.collection("alpha")
        let pinned = try XCTUnwrap(alpha.walPinLSNs[ContinuousArchiver.pinName])
        let between = f.history["alpha"]!.last!.0

        for errno in [ENOSPC, EIO] {
            faults.inject(.init(.write, nth: nil, errno: errno, pathContains: "backups"))
            for _ in 0..<30 { try await f.step() }
            try await alpha.flush()
            do {
                _ = try await archiver.backupNow()
                XCTFail("the backup wrote into a failing directory")
            } catch {}
            faults.clearFaults()
            XCTAssertGreaterThan(archiver.status.consecutiveFailures, 0)
            XCTAssertNotNil(archiver.status.lastError)
            XCTAssertEqual(alpha.walPinLSNs[ContinuousArchiver.pinName], pinned, "a failed backup does not move the pin")
            XCTAssertTrue(try firstWALLSN(f, "alpha") <= pinned, "the WAL from the pin on is kept")
            await archiver.enforceRetentionBound()
            XCTAssertEqual(archiver.status.brokenChains, 0, "under the bound the pin stays")
        }
        let resumed = try await archiver.backupNow()
        XCTAssertEqual(resumed.archive.kind, .incremental)
        XCTAssertEqual(archiver.status.consecutiveFailures, 0)
        XCTAssertEqual(archiver.status.failures, 2)
        // The log kept through the failures restores the LSNs between the two backups.
        let lsn = between + 5
        _ = try BackupRestore.restore(from: f.backups, to: f.target("kept"), collection: "alpha", at: .lsn(lsn), fileSystem: faults)
        try await check(f.target("kept"), ["alpha": lsn], f, fs: faults)

        // Past the bound while failing: the pin goes, the chain breaks, the next backup is full.
        let bounded = makeArchiver(db, f, fs: faults, maxRetained: 1)
        _ = try await bounded.backupNow()
        faults.inject(.init(.rename, nth: nil, errno: EIO, pathContains: "backups"))
        for _ in 0..<20 { try await f.step() }
        _ = try? await bounded.backupNow()
        faults.clearFaults()
        await bounded.enforceRetentionBound()
        XCTAssertEqual(bounded.status.brokenChains, 1)
        XCTAssertNil(alpha.walPinLSNs[ContinuousArchiver.pinName])
        let full = try await bounded.backupNow()
        XCTAssertEqual(full.archive.kind, BackupKind.full)
        XCTAssertNotNil(alpha.walPinLSNs[ContinuousArchiver.pinName])
        XCTAssertEqual(try BackupVerifier.verify(directory: f.backups, fileSystem: faults).archives.count, 4)
        try await f.close()
    }

    /// The power fails at each I/O call of a backup in turn (the backup directory on a file
    /// system that forgets what no sync covered): afterwards the chain verifies, the
    /// interrupted backup is not in it, and the next backup succeeds and restores.
    func testPowerLossAtEveryCallOfABackupLeavesTheChainIntactAndInvisible() async throws {
        let f = try fixture(seed: 33)
        try await f.create(["alpha", "beta"])
        let db = try await f.open()
        let disk = FaultInjectingFileSystem()
        let archiver = makeArchiver(db, f, fs: disk)
        for _ in 0..<40 { try await f.step() }
        _ = try await archiver.backupNow()
        var call = 1
        while true {
            for _ in 0..<3 { try await f.step() }
            disk.inject(.powerLoss(atCall: call))
            let finished = (try? await archiver.backupNow()) != nil
            disk.clearFaults()
            disk.restart()
            let report = try BackupVerifier.verify(directory: f.backups, fileSystem: disk)
            if finished {
                XCTAssertEqual(report.archives.count, 2)
                break
            }
            XCTAssertEqual(report.archives.count, 1, "power lost at call \(call): the interrupted backup is invisible")
            call += 1
            XCTAssertLessThan(call, 200, "the backup never finished")
        }
        XCTAssertGreaterThan(call, 5, "the loop cut the backup at several calls")
        let target = f.target("after")
        let reached = try BackupRestore.restore(from: f.backups, to: target, fileSystem: disk)
        try await check(target, Dictionary(uniqueKeysWithValues: reached.map { ($0.name, $0.lsn) }), f, fs: disk)
        XCTAssertEqual(Set(reached.map(\.lsn)), Set(f.history.values.map { $0.last!.0 }))
        try await f.close()
    }

    /// The process is killed at each I/O call of a backup in turn, 1 to 120 (what it wrote
    /// stays, synced or not): the chain always verifies, each attempt leaves its backup
    /// absent or whole (a kill after the publishing rename leaves it complete), the next
    /// process backs up again, and the chain restores as the model.
    func testAKillAtEveryCallOfABackupLeavesAVerifiableChain() async throws {
        let f = try fixture(seed: 34)
        try await f.create(["alpha", "beta"])
        let db = try await f.open()
        let disk = FaultInjectingFileSystem()
        for _ in 0..<40 { try await f.step() }
        _ = try await makeArchiver(db, f, fs: disk).backupNow()
        var (visible, absent, whole) = (1, 0, 0)
        for call in 1...120 {
            for _ in 0..<3 { try await f.step() }
            disk.inject(.processCrash(atCall: call))
            // A new archiver each time, as the restarted process would have.
            let finished = (try? await makeArchiver(db, f, fs: disk).backupNow()) != nil
            disk.clearFaults()
            disk.restart()
            let count = try BackupVerifier.verify(directory: f.backups, fileSystem: disk).archives.count
            XCTAssertTrue([visible, visible + 1].contains(count), "killed at call \(call): \(count) backups after \(visible)")
            if !finished { if count == visible { absent += 1 } else { whole += 1 } }
            visible = count
        }
        XCTAssertGreaterThan(absent, 5, "kills before the publishing rename")
        XCTAssertGreaterThan(whole, 0, "kills after it")
        _ = try await makeArchiver(db, f, fs: disk).backupNow()
        let target = f.target("after")
        let reached = try BackupRestore.restore(from: f.backups, to: target, fileSystem: disk)
        try await check(target, Dictionary(uniqueKeysWithValues: reached.map { ($0.name, $0.lsn) }), f, fs: disk)
        XCTAssertEqual(Set(reached.map(\.lsn)), Set(f.history.values.map { $0.last!.0 }))
        try await f.close()
    }

    /// The first LSN of the oldest WAL file on disk (from its name).
    private func firstWALLSN(_ f: BackupFixture, _ name: String) throws -> UInt64 {
        let names = try FileManager.default.contentsOfDirectory(atPath: f.data + "/collections/" + name + "/wal")
        return names.compactMap { UInt64($0.prefix(16), radix: 16) }.min()!
    }

    private func check(_ target: String, _ lsns: [String: UInt64], _ f: BackupFixture, fs: any FileSystem = POSIXFileSystem(), line: UInt = #line) async throws {
        let db = try await Database.open(at: target, fileSystem: fs)
        for (name, lsn) in lsns {
            let got = try BackupFixture.contents(try db.collection(name))
            XCTAssertEqual(got, f.expected(name, at: lsn), "collection \(name) restored to LSN \(lsn)", line: line)
        }
        try await db.close()
    }
}
