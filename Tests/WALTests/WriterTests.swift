#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HSDBCore
import HSDBTestSupport
@testable import WAL
import XCTest

final class WriterTests: XCTestCase {
    /// ENOSPC during an append: the write is refused (not acknowledged), what was there is
    /// intact, and once space returns appends carry on with consecutive LSNs.
    func testNoSpaceDuringAppendRefusesTheWriteAndResumes() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter()
        for i in 0..<5 { _ = try await writer.append(w.record(w.body(i))) }
        w.fs.inject(.init(.write, nth: 1, errno: ENOSPC, pathContains: ".wal"))
        do {
            _ = try await writer.append(w.record(w.body(5)))
            XCTFail("append acknowledged on a full disk")
        } catch WALError.io(let e) {
            XCTAssertEqual(e.errno, ENOSPC)
        }
        w.fs.clearFaults()
        let lsn = try await writer.append(w.record(w.body(6)))
        XCTAssertEqual(lsn, 6, "the refused record's LSN is reused")
        try await writer.close()
        let (_, seen) = try w.recover()
        XCTAssertEqual(seen.map(\.0), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(seen.map(\.1), (0..<5).map { w.body($0) } + [w.body(6)])
    }

    func testTornWriteIsRolledBack() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter()
        _ = try await writer.append(w.record(w.body(0)))
        w.fs.inject(.init(.write, nth: 1, tornPrefixBytes: 17, pathContains: ".wal"))
        do {
            _ = try await writer.append(w.record(w.body(1)))
            XCTFail("torn write acknowledged")
        } catch WALError.io {}
        _ = try await writer.append(w.record(w.body(2)))
        try await writer.close()
        let (report, seen) = try w.recover()
        XCTAssertEqual(seen.map(\.1), [w.body(0), w.body(2)])
        XCTAssertNil(report.truncatedTail, "the torn bytes were truncated at once, not left for recovery")
    }

    /// fsyncgate: after a failed fdatasync nothing more is acknowledged; after a power loss
    /// and recovery, exactly the acknowledged records are there.
    func testFailedSyncPoisonsTheWriter() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter()
        for i in 0..<3 { _ = try await writer.append(w.record(w.body(i))) }
        w.fs.inject(.init(.sync, nth: 1, errno: EIO, pathContains: ".wal"))
        do {
            _ = try await writer.append(w.record(w.body(3)))
            XCTFail("acknowledged although fdatasync failed")
        } catch WALError.failed(let e) {
            XCTAssertEqual(e.errno, EIO)
        }
        w.fs.clearFaults()
        do {
            _ = try await writer.append(w.record(w.body(4)))
            XCTFail("a poisoned writer acknowledged a write")
        } catch WALError.failed {}
        try await writer.close()
        w.fs.simulatePowerLoss()
        let (_, seen) = try w.recover()
        XCTAssertEqual(seen.map(\.1), (0..<3).map { w.body($0) })
    }

    /// Every write acknowledged in fsync mode survives a power loss, across file rotations
    /// (new files' directory entries are synced before records in them are acknowledged).
    func testAcknowledgedWritesSurvivePowerLossAcrossRotations() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter(WALWriterOptions(maxFileSize: 1024))
        for i in 0..<60 { _ = try await writer.append(w.record(w.body(i))) }
        w.fs.simulatePowerLoss()  // no close: the process is gone
        let (_, seen) = try w.recover()
        XCTAssertEqual(seen.map(\.0), Array(1...60))
    }

    func testNoneModeDoesNotSyncPerAppendAndSyncMakesItDurable() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter(WALWriterOptions(durability: .none))
        let syncsBefore = w.fs.count(.sync)
        for i in 0..<50 { _ = try await writer.append(w.record(w.body(i))) }
        XCTAssertEqual(w.fs.count(.sync), syncsBefore, "no fdatasync per append in none mode")
        try await writer.sync()
        XCTAssertEqual(writer.durableLSN, 50)
        w.fs.simulatePowerLoss()
        XCTAssertEqual(try w.recover().1.count, 50)
    }

    func testNoneModeLosesUnsyncedWritesAtPowerLoss() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter(WALWriterOptions(durability: .none))
        for i in 0..<10 { _ = try await writer.append(w.record(w.body(i))) }
        w.fs.simulatePowerLoss()
        XCTAssertEqual(try w.recover().1.count, 0, "the documented loss window of none mode")
    }

    func testIntervalModeSyncsInTheBackground() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter(WALWriterOptions(durability: .interval(milliseconds: 5)))
        for i in 0..<10 { _ = try await writer.append(w.record(w.body(i))) }
        let deadline = Date().addingTimeInterval(10)
        while writer.durableLSN < 10 && Date() < deadline { try await Task.sleep(for: .milliseconds(2)) }
        XCTAssertEqual(writer.durableLSN, 10, "the interval sync ran without any sync() call")
        w.fs.simulatePowerLoss()
        XCTAssertEqual(try w.recover().1.count, 10)
    }

    func testAppendAfterCloseIsRefused() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter()
        try await writer.close()
        do {
            _ = try await writer.append(w.record([1]))
            XCTFail("append after close")
        } catch WALError.closed {}
    }

    /// Group commit on the real disk: 64 concurrent writers share fdatasyncs.
    func testConcurrentWritersShareSyncs() async throws {
        let dir = NSTemporaryDirectory() + "hsdb-wal-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fs = POSIXFileSystem()
        try fs.createDirectories(dir)
        let report = try WALRecovery.recover(fileSystem: fs, directory: dir) { _, _ in }
        let writer = try WALWriter(fileSystem: fs, directory: dir, recovered: report)
        let lsns = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for i in 0..<64 {
                group.addTask {
                    var r = WALRecordBuffer(type: WALRecordType(rawValue: 1))
                    r.writer.write(UInt64(i))
                    return try await writer.append(r)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(lsns.sorted(), Array(1...64))
        let stats = writer.statistics.snapshot
        XCTAssertEqual(stats.recordsWritten, 64)
        XCTAssertLessThan(stats.syncs, 32, "64 concurrent appends should share fdatasyncs, got \(stats.syncs) syncs")
        try await writer.close()
        var seen: [UInt64] = []
        _ = try WALRecovery.recover(fileSystem: fs, directory: dir) { r, _ in seen.append(r.lsn) }
        XCTAssertEqual(seen, Array(1...64))
    }

    func testRetentionDeletesOnlyAFlushedPrefix() {
        let files = (0..<6).map { (i: Int) -> WALFileInfo in
            let first = UInt64(i) * 10 + 1
            return WALFileInfo(name: "f\(i)", firstLSN: first, lastLSN: first + 9, bytes: 100, ageSeconds: Double(600 - 100 * i))
        }
        // Age: flushed files (lastLSN <= 40) older than 250 s: f0...f3 (ages 600, 500, 400, 300).
        XCTAssertEqual(WALRetention.filesToDelete(files, flushedLSN: 40, policy: .init(maxAgeSeconds: 250, maxBytes: nil)), ["f0", "f1", "f2", "f3"])
        XCTAssertEqual(WALRetention.filesToDelete(files, flushedLSN: 40, policy: .init(maxAgeSeconds: 450, maxBytes: nil)), ["f0", "f1"])
        // Unflushed files stay whatever their age.
        XCTAssertEqual(WALRetention.filesToDelete(files, flushedLSN: 15, policy: .init(maxAgeSeconds: 1, maxBytes: nil)), ["f0"])
        // Bytes: keep at most 200 bytes of the flushed files f0...f3.
        XCTAssertEqual(WALRetention.filesToDelete(files, flushedLSN: 40, policy: .init(maxAgeSeconds: nil, maxBytes: 200)), ["f0", "f1"])
        // A pin (a follower at LSN 25) keeps its file and later ones.
        XCTAssertEqual(WALRetention.filesToDelete(files, flushedLSN: 60, pinnedLSN: 25, policy: .init(maxAgeSeconds: 0, maxBytes: nil)), ["f0", "f1"])
        // The active file is never deleted; keepEverything deletes nothing.
        XCTAssertFalse(WALRetention.filesToDelete(files, flushedLSN: 100, policy: .init(maxAgeSeconds: 0, maxBytes: nil)).contains("f5"))
        XCTAssertEqual(WALRetention.filesToDelete(files, flushedLSN: 100, policy: .keepEverything), [])
    }
}
