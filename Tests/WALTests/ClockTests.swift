import HSDBCore
import HSDBTestSupport
@testable import WAL
import Synchronization
import XCTest

/// Commit times: one clock record after every group-commit write, never going back.
final class ClockTests: XCTestCase {
    /// A clock the test sets by hand.
    final class ManualClock: Sendable {
        let now = Mutex<UInt64>(0)
        func set(_ t: UInt64) { now.withLock { $0 = t } }
        var read: @Sendable () -> UInt64 { { [self] in now.withLock { $0 } } }
    }

    func testEveryAcknowledgedRecordHasACommitTimeThatNeverGoesBack() async throws {
        let w = try WALFixture()
        let clock = ManualClock()
        let writer = try w.openWriter(WALWriterOptions(clock: clock.read))
        // The system clock steps back after the second write.
        let times: [UInt64] = [1_000, 5_000, 3_000, 4_000, 9_000]
        for t in times {
            clock.set(t)
            let lsn = try await writer.append(w.record([1]))
            XCTAssertEqual(writer.lastCommit.lsn, lsn)
        }
        XCTAssertEqual(writer.lastCommit.time, 9_000)
        try await writer.close()
        var clocks: [(UInt64, UInt64)] = []
        let report = try WALRecovery.recover(fileSystem: w.fs, directory: w.directory, clock: { clocks.append(($0, $1)) }) { _, _ in }
        XCTAssertEqual(clocks.map(\.0), [1, 2, 3, 4, 5])
        XCTAssertEqual(clocks.map(\.1), [1_000, 5_000, 5_000, 5_000, 9_000])
        XCTAssertEqual(report.lastCommitTime, 9_000)
        XCTAssertEqual(report.lastLSN, 6, "the close marker still takes the next LSN; clock records take none")
    }

    func testTheRecoveredTimeBoundsTheNextCommitTime() async throws {
        let w = try WALFixture()
        let clock = ManualClock()
        clock.set(50_000)
        let first = try w.openWriter(WALWriterOptions(clock: clock.read))
        _ = try await first.append(w.record([1]))
        try await first.close()
        clock.set(10_000)  // after a restart the clock is behind
        let second = try w.openWriter(WALWriterOptions(clock: clock.read))
        XCTAssertEqual(second.lastCommit.time, 50_000)
        _ = try await second.append(w.record([2]))
        XCTAssertEqual(second.lastCommit.time, 50_000)
        try await second.close()
    }

    /// A group commit of many records gets one clock record after its last record.
    func testOneClockRecordPerGroupCommit() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter()
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            for i in 0..<64 { group.addTask { try await writer.append(w.record(w.body(i))) } }
            for try await _ in group {}
        }
        try await writer.close()
        var clockLSNs: [UInt64] = []
        let report = try WALRecovery.recover(fileSystem: w.fs, directory: w.directory, clock: { lsn, _ in clockLSNs.append(lsn) }) { _, _ in }
        XCTAssertEqual(clockLSNs.last, 64)
        XCTAssertEqual(clockLSNs, clockLSNs.sorted())
        XCTAssertEqual(Set(clockLSNs).count, clockLSNs.count)
        XCTAssertLessThan(clockLSNs.count, 64, "concurrent writers share clock records as they share fdatasyncs")
        XCTAssertEqual(writer.statistics.syncs.load(ordering: .relaxed), clockLSNs.count + 1, "one per fdatasync (and the close's)")
        XCTAssertGreaterThan(report.lastCommitTime, 0)
    }

    /// A WAL written by a version-1 build (no clock records) still opens; new records go to a
    /// new version-2 file.
    func testVersion1FilesStillOpenAndAreNotAppendedTo() async throws {
        let w = try WALFixture()
        var image = hexBytes(goldenHeaderVersion1)
        for lsn in UInt64(1)...3 {
            image += WALFormat.encodeRecord(type: WALRecordType(rawValue: 1), lsn: lsn, durableLSN: lsn - 1, body: w.body(Int(lsn)))
        }
        let v1 = w.directory + "/" + WALFormat.fileName(firstLSN: 1)
        try w.createFile(v1, image)
        let (report, seen) = try w.recover()
        XCTAssertEqual(seen.map(\.0), [1, 2, 3])
        XCTAssertEqual(report.files.map(\.version), [1])
        XCTAssertEqual(report.lastCommitTime, 0)
        let writer = try w.openWriter()
        let lsn = try await writer.append(w.record([9]))
        XCTAssertEqual(lsn, 4)
        try await writer.close()
        XCTAssertEqual(try w.fs.contents(v1), image, "the version-1 file is left as it was")
        let (after, again) = try w.recover()
        XCTAssertEqual(again.map(\.0), [1, 2, 3, 4])
        XCTAssertEqual(after.files.map(\.version), [1, 2])
    }

    /// A clock record that does not follow a record of its file, or repeats another LSN, is
    /// corruption (or a torn tail at the end), never a silent time.
    func testAMisplacedClockRecordIsRefused() throws {
        let w = try WALFixture()
        var image = WALFormat.encodeFileHeader(firstLSN: 1)
        image += WALFormat.encodeRecord(type: WALRecordType(rawValue: 1), lsn: 1, durableLSN: 0, body: [1])
        let bad = image.count
        image += WALClock.encode(time: 5, lsn: 2, durableLSN: 0)  // names a record not yet written
        image += WALFormat.encodeRecord(type: WALRecordType(rawValue: 1), lsn: 2, durableLSN: 1, body: [2])
        // A close marker proves record 2 durable, so the bad spot is not a torn tail.
        image += WALFormat.encodeRecord(type: .closeMarker, lsn: 3, durableLSN: 2, body: [])
        let path = w.directory + "/" + WALFormat.fileName(firstLSN: 1)
        try w.createFile(path, image)
        XCTAssertThrowsCorruption(try w.recover(), file: path, offset: Int64(bad))
    }
}

/// Cutting a log at an LSN, as a point-in-time restore does.
final class CutTests: XCTestCase {
    func testCutKeepsExactlyTheRecordsUpToTheLSNAndTheirClock() async throws {
        for target in [UInt64(0), 1, 37, 99, 150, 200, 500] {
            let w = try WALFixture()
            _ = try await w.writeLog(count: 200, options: WALWriterOptions(maxFileSize: 2048))
            let end = try WALCut.cut(fileSystem: w.fs, directory: w.directory, after: target)
            XCTAssertEqual(end, min(target, 200))
            var clocks: [UInt64] = []
            var seen: [UInt64] = []
            let report = try WALRecovery.recover(fileSystem: w.fs, directory: w.directory, clock: { lsn, _ in clocks.append(lsn) }) { r, _ in
                seen.append(r.lsn)
            }
            XCTAssertEqual(seen, target == 0 ? [] : Array(1...min(target, 200)), "target \(target)")
            XCTAssertNil(report.truncatedTail, "the cut leaves whole records only")
            if target > 0 { XCTAssertEqual(clocks.last, min(target, 200), "the clock of the last kept record stays") }
            // The log goes on from the cut.
            let writer = try w.openWriter()
            let lsn = try await writer.append(w.record([7]))
            XCTAssertEqual(lsn, min(target, 200) + 1)
            try await writer.close()
        }
    }
}
