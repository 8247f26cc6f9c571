@testable import Backup
import Foundation
import HSDB
import HSDBCore
import IPLD
import Logging
import XCTest

/// Pruning (`PRUNED`, `BackupPruner`) and the archiver's new base backups.
final class BackupPruneTests: XCTestCase {
    /// A fixture whose WAL is cut into 1 KiB files, so retention really drops flushed log.
    private func fixture(seed: UInt64) throws -> BackupFixture {
        let f = try BackupFixture(seed: seed)
        f.options.walFileSize = 1 << 10
        f.options.walRetention = WALRetentionPolicy(maxAgeSeconds: nil, maxBytes: 0)
        return f
    }

    private func flushAll(_ f: BackupFixture) async throws {
        for name in f.history.keys { try await f.open().collection(name).flush() }
    }

    /// Backups 1 (full), 2, 3, 4 (full), 5, 6, 7 (full), 8, with writes and flushes between.
    private func makeChain(_ f: BackupFixture) async throws {
        try await f.create(["a", "b"])
        for sequence in 1...8 {
            for _ in 0..<15 { try await f.step() }
            try await flushAll(f)
            for _ in 0..<5 { try await f.step() }
            try await f.backup(full: [4, 7].contains(sequence))
        }
    }

    private func window(_ f: BackupFixture, _ name: String) throws -> [ClosedRange<UInt64>] {
        try BackupListing.read(directory: f.backups).windows.first { $0.collection == name }!.ranges
    }

    func testPruningKeepsTheNewestFullBackupsAndRestoresFromThere() async throws {
        let f = try fixture(seed: 41)
        try await makeChain(f)
        let before = try window(f, "a")
        // Offline backups do not pin the log, and retention drops what was flushed: each backup
        // restores its own range.
        XCTAssertEqual(before.count, 8)

        let result = try BackupPruner.prune(directory: f.backups, keepFull: 2)
        XCTAssertEqual(result.removed, ["000001-full.car", "000002-incremental.car", "000003-incremental.car"])
        XCTAssertEqual(result.first, 4)
        XCTAssertGreaterThan(result.bytesFreed, 0)
        XCTAssertEqual(try BackupPruner.prune(directory: f.backups, keepFull: 2).removed, [], "a second prune has nothing to do")
        XCTAssertEqual(try BackupVerifier.verify(directory: f.backups).archives.map(\.sequence), Array(4...8))
        XCTAssertEqual(try BackupListing.read(directory: f.backups).prunedBefore, 4)

        let after = try window(f, "a")
        XCTAssertEqual(after, Array(before.suffix(5)), "the window now starts at the oldest kept full backup")
        // Inside the new window: as the model; before it: refused, naming the window.
        for (i, lsn) in after.flatMap({ [$0.lowerBound, $0.upperBound] }).enumerated() {
            let target = f.target("in-\(i)")
            _ = try BackupRestore.restore(from: f.backups, to: target, collection: "a", at: .lsn(lsn))
            let db = try await Database.open(at: target)
            XCTAssertEqual(try BackupFixture.contents(try db.collection("a")), f.expected("a", at: lsn), "LSN \(lsn)")
            try await db.close()
        }
        let gone = before[0].upperBound
        XCTAssertThrowsError(try BackupRestore.restore(from: f.backups, to: f.target("pruned"), collection: "a", at: .lsn(gone))) { error in
            guard case BackupError.outsideWindow = error else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.target("pruned")))

        // The chain goes on after a prune: the next backup continues it.
        for _ in 0..<5 { try await f.step() }
        let next = try await f.backup()
        XCTAssertEqual(next.archive.sequence, 9)
        XCTAssertEqual(next.archive.kind, .incremental)
        XCTAssertEqual(try BackupVerifier.verify(directory: f.backups).archives.count, 6)
    }

    func testAnInterruptedPruneReadsAsPrunedAndFinishesNextTime() async throws {
        let f = try fixture(seed: 42)
        try await makeChain(f)
        let roots = try BackupVerifier.verify(directory: f.backups).archives.map(\.rootCID)
        // The marker is written first; a crash before the deletions leaves backups 1...3.
        let marker = PruneMarker(first: 4, previous: roots[2])
        try POSIXFileSystem().writeFileAtomically(f.backups + "/" + PruneMarker.fileName, bytes: marker.encoded())
        XCTAssertEqual(try BackupVerifier.verify(directory: f.backups).archives.map(\.sequence), Array(4...8))
        XCTAssertEqual(try BackupPruner.prune(directory: f.backups, keepFull: 3).removed,
                       ["000001-full.car", "000002-incremental.car", "000003-incremental.car"])
    }

    func testADamagedOrWrongMarkerIsRefusedNamingTheFile() async throws {
        let f = try fixture(seed: 43)
        try await makeChain(f)
        _ = try BackupPruner.prune(directory: f.backups, keepFull: 2)
        let path = f.backups + "/" + PruneMarker.fileName
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        for offset in [0, 25, good.count - 3] {
            var bytes = [UInt8](good)
            bytes[offset] ^= 0x04
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try BackupVerifier.verify(directory: f.backups)) { error in
                guard case BackupError.problem(let file, _, _, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(file, path)
            }
        }
        // A marker naming an incremental backup as the first, or the wrong previous root.
        let roots = try { () throws -> [CID] in
            try Data(good).write(to: URL(fileURLWithPath: path))
            return try BackupVerifier.verify(directory: f.backups).archives.map(\.rootCID)
        }()
        for (first, previous, reason) in [(UInt64(5), roots[0], "must be a full backup"), (4, roots[1], "previous link")] {
            try Data(PruneMarker(first: first, previous: previous).encoded()).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try BackupVerifier.verify(directory: f.backups)) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(error)")
            }
        }
        // Without a marker, a chain that does not start at backup 1 is broken.
        try FileManager.default.removeItem(atPath: path)
        XCTAssertThrowsError(try BackupVerifier.verify(directory: f.backups)) { error in
            XCTAssertTrue("\(error)".contains("backup 1 is missing"), "\(error)")
        }
    }

    func testMarkerGoldenBytes() throws {
        // The CRC computed independently (a bitwise CRC32C in Python, then the mask).
        let previous = try CID(text: "bafyreiazsrkfu6qr376jahxrwzj7dvaxihpghhtae5jiywaoes547juvea")
        let text = "hsdb-backup-pruned 1\nfirst 7\nprevious bafyreiazsrkfu6qr376jahxrwzj7dvaxihpghhtae5jiywaoes547juvea\ncrc32c bb15d040\n"
        XCTAssertEqual(PruneMarker(first: 7, previous: previous).encoded(), Array(text.utf8))
        XCTAssertEqual(try PruneMarker(decoding: Array(text.utf8), path: "PRUNED"), PruneMarker(first: 7, previous: previous))
    }

    func testTheArchiverTakesNewBasesBySizeAndAgeAndPrunes() async throws {
        let f = try fixture(seed: 44)
        try await f.create(["a"])
        let db = try await f.open()
        var settings = ContinuousArchiver.Settings(directory: f.backups)
        settings.baseEvery = nil
        settings.baseAfterBytes = 1  // any incremental since the last full one makes the next full
        settings.keepFull = 1
        let archiver = ContinuousArchiver(database: db, settings: settings, logger: Logger(label: "test"))
        var kinds: [BackupKind] = []
        for _ in 0..<5 {
            for _ in 0..<10 { try await f.step() }
            kinds.append(try await archiver.backupNow().archive.kind)
        }
        XCTAssertEqual(kinds, [.full, .incremental, .full, .incremental, .full])
        let names = try FileManager.default.contentsOfDirectory(atPath: f.backups).sorted()
        XCTAssertEqual(names, ["000005-full.car", PruneMarker.fileName], "each full backup pruned what came before it")
        let restored = f.target("latest")
        _ = try BackupRestore.restore(from: f.backups, to: restored)
        let copy = try await Database.open(at: restored)
        XCTAssertEqual(try BackupFixture.contents(try copy.collection("a")), f.history["a"]!.last!.1)
        try await copy.close()

        // By age: a base is due when the last full backup is older than `baseEvery`.
        var byAge = settings
        byAge.baseAfterBytes = nil
        byAge.baseEvery = .seconds(60)
        let aged = ContinuousArchiver(database: db, settings: byAge, logger: Logger(label: "test"))
        let tip = try BackupChainTip.read(directory: f.backups)
        let last = try XCTUnwrap(tip.lastFullCreated)
        XCTAssertNil(aged.baseDue(tip, now: last + 59_000_000_000))
        XCTAssertNotNil(aged.baseDue(tip, now: last + 60_000_000_000))
        XCTAssertNil(aged.baseDue(tip, now: last - 1), "a clock that stepped back does not force one")
    }
}
