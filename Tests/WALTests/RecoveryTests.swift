#if canImport(Glibc)
import Glibc
#endif
import HSDBCore
import HSDBTestSupport
@testable import WAL
import XCTest

final class RecoveryTests: XCTestCase {
    func testAppendThenRecoverReturnsEveryRecordInOrder() async throws {
        let w = try WALFixture()
        _ = try await w.writeLog(count: 100, keepCloseMarker: true)
        let (report, seen) = try w.recover()
        XCTAssertEqual(seen.map(\.0), Array(1...100))
        XCTAssertEqual(seen.map(\.1), (0..<100).map { w.body($0) })
        XCTAssertEqual(report.lastLSN, 101, "the close marker takes LSN 101")
        XCTAssertNil(report.truncatedTail)
    }

    func testRotationKeepsLSNsConsecutiveAcrossFiles() async throws {
        let w = try WALFixture()
        _ = try await w.writeLog(count: 200, options: WALWriterOptions(maxFileSize: 2048), keepCloseMarker: true)
        let files = try WALRecovery.listWALFiles(w.fs, w.directory)
        XCTAssertGreaterThan(files.count, 5)
        let (report, seen) = try w.recover()
        XCTAssertEqual(seen.map(\.0), Array(1...200))
        XCTAssertEqual(report.files.map(\.firstLSN), files.map(\.1))
        for (a, b) in zip(report.files, report.files.dropFirst()) { XCTAssertEqual(a.lastLSN + 1, b.firstLSN) }
        // A clock record may take a file past its limit (it goes with the records it times).
        let clockRecord = WALFormat.recordHeaderSize + WALClock.bodySize
        XCTAssertTrue(report.files.dropLast().allSatisfy { $0.validBytes <= 2048 + clockRecord })
    }

    /// A crash can cut the log anywhere inside the last records (each followed by its clock
    /// record): recovery keeps every whole record before the cut, truncates the rest, and
    /// appends continue with the next LSN.
    func testTornTailAtEveryByteOffsetOfTheLastTwoRecords() async throws {
        let template = try WALFixture()
        let (offsets, path) = try await template.writeLog(count: 10)
        let layout = try template.recordLayout(path)
        XCTAssertEqual(layout.map(\.isClock), Array(repeating: [false, true], count: 10).flatMap { $0 })
        let full = try template.fs.contents(path)
        for cut in offsets[8]..<full.count {
            let w = try WALFixture()
            let file = try w.fs.open(path, mode: .createNew)
            try Array(full.prefix(cut)).withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
            let (report, seen) = try w.recover()
            let whole = layout.filter { !$0.isClock && $0.end <= cut }.count
            XCTAssertEqual(seen.map(\.0), Array(1...UInt64(whole)), "cut at \(cut)")
            XCTAssertEqual(seen.map(\.1), (0..<whole).map { w.body($0) })
            if let torn = layout.first(where: { $0.start < cut && cut < $0.end }) {
                XCTAssertEqual(report.truncatedTail?.offset, Int64(torn.start), "cut at \(cut)")
                XCTAssertEqual(try w.fs.contents(path).count, torn.start, "file truncated to the last whole record")
            } else {
                XCTAssertNil(report.truncatedTail, "cut at \(cut) is a record boundary")
            }
            // The log goes on from there.
            let writer = try w.openWriter()
            let lsn = try await writer.append(w.record([1, 2, 3]))
            XCTAssertEqual(lsn, UInt64(whole) + 1)
            try await writer.close()
            XCTAssertEqual(try w.recover().1.last?.1, [1, 2, 3])
        }
    }

    func testZeroFilledTailIsATornTail() async throws {
        let w = try WALFixture()
        let (_, path) = try await w.writeLog(count: 5)
        try w.fs.setContents(path, try w.fs.contents(path) + [UInt8](repeating: 0, count: 4096))
        let (report, seen) = try w.recover()
        XCTAssertEqual(seen.count, 5)
        XCTAssertEqual(report.truncatedTail?.droppedBytes, 4096)
    }

    func testGarbageTailIsATornTail() async throws {
        let w = try WALFixture()
        let (_, path) = try await w.writeLog(count: 5)
        var rng = SplitMix64(seed: 7)
        try w.fs.setContents(path, try w.fs.contents(path) + (0..<3000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let (report, seen) = try w.recover()
        XCTAssertEqual(seen.count, 5)
        XCTAssertNotNil(report.truncatedTail)
    }

    /// A torn group-commit write can persist a later page but not an earlier one. The later
    /// record's durable LSN shows the earlier was never acknowledged, so this is a torn tail;
    /// had the later record been written after the earlier was durable, it is corruption.
    func testDurableLSNTellsATornBatchFromCorruption() throws {
        for (thirdDurable, expectTorn) in [(UInt64(1), true), (UInt64(2), false)] {
            let w = try WALFixture()
            var image = WALFormat.encodeFileHeader(firstLSN: 1)
            var offsets: [Int] = []
            for (lsn, durable) in [(UInt64(1), UInt64(0)), (2, 1), (3, thirdDurable)] {
                var r = w.record(w.body(Int(lsn), size: 300))
                RecordCodec.seal(&r, lsn: lsn, durableLSN: durable, bodyChecksum: RecordCodec.bodyChecksum(r))
                offsets.append(image.count)
                image += r.writer.bytes
            }
            image[offsets[1] + 40] ^= 1  // record 2 damaged, record 3 intact
            let path = w.directory + "/" + WALFormat.fileName(firstLSN: 1)
            let f = try w.fs.open(path, mode: .createNew)
            try image.withUnsafeBytes { try f.write($0, at: 0) }
            try f.sync()
            if expectTorn {
                let (report, seen) = try w.recover()
                XCTAssertEqual(seen.map(\.0), [1], "both records of the torn batch are dropped")
                XCTAssertEqual(report.truncatedTail?.offset, Int64(offsets[1]))
            } else {
                XCTAssertThrowsCorruption(try w.recover(), file: path, offset: Int64(offsets[1]))
            }
        }
    }

    func testBitFlipMidLogIsCorruptionNamingFileAndOffset() async throws {
        let w = try WALFixture()
        let (offsets, path) = try await w.writeLog(count: 10)
        try w.fs.flipBit(path, byteOffset: offsets[3] + WALFormat.recordHeaderSize + 2, bit: 3)
        XCTAssertThrowsCorruption(try w.recover(), file: path, offset: Int64(offsets[3]))
    }

    func testBitFlipInAnEarlierFileIsCorruption() async throws {
        let w = try WALFixture()
        _ = try await w.writeLog(count: 100, options: WALWriterOptions(maxFileSize: 2048))
        let first = w.directory + "/" + (try WALRecovery.listWALFiles(w.fs, w.directory)[0].0)
        try w.fs.flipBit(first, byteOffset: 100)
        XCTAssertThrowsError(try w.recover()) { error in
            guard case WALError.corruption(let c)? = error as? WALError else { return XCTFail("\(error)") }
            XCTAssertEqual(c.file, first)
            XCTAssertLessThanOrEqual(c.offset, 100)
        }
    }

    func testDamagedHeaderOfAnEarlierFileIsCorruption() async throws {
        let w = try WALFixture()
        _ = try await w.writeLog(count: 100, options: WALWriterOptions(maxFileSize: 2048))
        let first = w.directory + "/" + (try WALRecovery.listWALFiles(w.fs, w.directory)[0].0)
        try w.fs.flipBit(first, byteOffset: 3)
        XCTAssertThrowsCorruption(try w.recover(), file: first, offset: 0)
    }

    func testMissingMiddleFileIsCorruption() async throws {
        let w = try WALFixture()
        _ = try await w.writeLog(count: 100, options: WALWriterOptions(maxFileSize: 2048))
        let files = try WALRecovery.listWALFiles(w.fs, w.directory)
        try w.fs.remove(w.directory + "/" + files[2].0)
        XCTAssertThrowsCorruption(try w.recover(), file: w.directory + "/" + files[3].0, offset: 16)
    }

    func testSalvageModeSkipsCorruptionAndReportsIt() async throws {
        let w = try WALFixture()
        let (offsets, path) = try await w.writeLog(count: 10)
        try w.fs.flipBit(path, byteOffset: offsets[3] + 30)
        let (report, seen) = try w.recover(WALRecoveryOptions(skipCorruption: true))
        XCTAssertEqual(seen.map(\.0), [1, 2, 3, 5, 6, 7, 8, 9, 10])
        XCTAssertEqual(report.skipped.map(\.offset), [Int64(offsets[3])])
    }

    /// The close marker's durable LSN proves the last data record reached the disk, so damage
    /// to it is corruption, not a torn tail.
    func testCloseMarkerTurnsDamageToTheLastRecordIntoCorruption() async throws {
        let w = try WALFixture()
        let (offsets, path) = try await w.writeLog(count: 5, keepCloseMarker: true)
        try w.fs.flipBit(path, byteOffset: offsets[4] + 30)
        XCTAssertThrowsCorruption(try w.recover(), file: path, offset: Int64(offsets[4]))
    }

    /// Without a later record, damage to the last record cannot be told from a torn write:
    /// it is truncated and reported (DESIGN.md, "Recovery", states this limit).
    func testDamageToTheLastRecordWithoutProofIsTruncatedAndReported() async throws {
        let w = try WALFixture()
        let (offsets, path) = try await w.writeLog(count: 5)
        try w.fs.flipBit(path, byteOffset: offsets[4] + 30)
        let (report, seen) = try w.recover()
        XCTAssertEqual(seen.count, 4)
        XCTAssertEqual(report.truncatedTail?.offset, Int64(offsets[4]))
        XCTAssertEqual(report.truncatedTail?.reason, "record checksum mismatch")
    }

    func testLastFileWithATornHeaderIsRemoved() async throws {
        let w = try WALFixture()
        _ = try await w.writeLog(count: 3, keepCloseMarker: true)
        let name = WALFormat.fileName(firstLSN: 5)
        let f = try w.fs.open(w.directory + "/" + name, mode: .createNew)
        try Array(WALFormat.encodeFileHeader(firstLSN: 5).prefix(10)).withUnsafeBytes { try f.write($0, at: 0) }
        let (report, seen) = try w.recover()
        XCTAssertEqual(seen.count, 3)
        XCTAssertEqual(report.removedIncompleteFiles, [name])
        XCTAssertFalse(w.fs.fileExists(w.directory + "/" + name))
    }

    func testRecordWithAnUnexpectedLSNIsRefused() async throws {
        let w = try WALFixture()
        let (offsets, path) = try await w.writeLog(count: 4, keepCloseMarker: true)
        // Swap records 2 and 3 (same sizes are not needed: rebuild the file).
        let bytes = try w.fs.contents(path)
        let r2 = Array(bytes[offsets[1]..<offsets[2]]), r3 = Array(bytes[offsets[2]..<offsets[3]])
        try w.fs.setContents(path, Array(bytes[..<offsets[1]]) + r3 + r2 + Array(bytes[offsets[3]...]))
        XCTAssertThrowsCorruption(try w.recover(), file: path, offset: Int64(offsets[1]))
    }
}
