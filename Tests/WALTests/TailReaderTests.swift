import HSDBCore
import HSDBTestSupport
import Synchronization
import XCTest

@testable import WAL

/// The tail reader (what a leader ships) and replicated appends (what a follower writes).
final class TailReaderTests: XCTestCase {
    func testReadsFromAnyLSNAcrossFilesAndFollowsTheTail() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter(WALWriterOptions(maxFileSize: 2048))
        for i in 0..<60 { _ = try await writer.append(w.record(w.body(i))) }
        XCTAssertGreaterThan(try WALRecovery.listWALFiles(w.fs, w.directory).count, 3, "several files")
        for start in [UInt64(0), 1, 17, 59] {
            var reader = try WALTailReader(fileSystem: w.fs, directory: w.directory, after: start)
            var got: [WALEntry] = []
            while reader.nextLSN <= 60 { got += try reader.read(through: 60, maxBytes: 500) }
            XCTAssertEqual(got.map(\.lsn), Array((start + 1)...60), "after \(start)")
            XCTAssertEqual(got.map(\.body), ((Int(start))..<60).map { w.body($0) })
        }
        // Following the tail: a reader at the end returns nothing, then the new records.
        var reader = try WALTailReader(fileSystem: w.fs, directory: w.directory, after: 60)
        XCTAssertEqual(try reader.read(through: 60, maxBytes: 1 << 20), [])
        for i in 60..<70 { _ = try await writer.append(w.record(w.body(i))) }
        let tail = try reader.read(through: 65, maxBytes: 1 << 20)
        XCTAssertEqual(tail.map(\.lsn), Array(61...65), "never past the LSN it is given")
        XCTAssertEqual(try reader.read(through: 70, maxBytes: 1 << 20).map(\.lsn), Array(66...70))
        try await writer.close()
        // The close marker takes an LSN and is returned; clock records are not.
        let last = try reader.read(through: 71, maxBytes: 1 << 20)
        XCTAssertEqual(last.map(\.lsn), [71])
        XCTAssertEqual(last.first?.type, .closeMarker)
    }

    func testAReaderOfALogNotWrittenYetWaitsForItsFirstFile() async throws {
        let w = try WALFixture()
        var reader = try WALTailReader(fileSystem: w.fs, directory: w.directory, after: 0)
        XCTAssertEqual(try reader.read(through: 0, maxBytes: 1 << 20), [])
        let writer = try w.openWriter()
        for i in 0..<3 { _ = try await writer.append(w.record(w.body(i))) }
        XCTAssertEqual(try reader.read(through: 3, maxBytes: 1 << 20).map(\.lsn), [1, 2, 3])
        try await writer.close()
    }

    func testRefusesPositionsTheLogNoLongerHolds() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter(WALWriterOptions(maxFileSize: 2048))
        for i in 0..<60 { _ = try await writer.append(w.record(w.body(i))) }
        let files = try WALRecovery.listWALFiles(w.fs, w.directory)
        try w.fs.remove(w.directory + "/" + files[0].0)  // as retention would
        XCTAssertThrowsError(try WALTailReader(fileSystem: w.fs, directory: w.directory, after: 0)) { error in
            guard case WALError.notRetained(after: 0, firstRetained: files[1].1) = error else { return XCTFail("\(error)") }
        }
        XCTAssertNoThrow(try WALTailReader(fileSystem: w.fs, directory: w.directory, after: files[1].1 - 1))
        try await writer.close()
    }

    func testDamageIsReportedWithFileAndOffset() async throws {
        let w = try WALFixture()
        let writer = try w.openWriter()
        for i in 0..<10 { _ = try await writer.append(w.record(w.body(i))) }
        try await writer.close()
        let path = w.directory + "/" + (try WALRecovery.listWALFiles(w.fs, w.directory)).last!.0
        let offsets = try w.recordOffsets(path)
        var bytes = try w.fs.contents(path)
        bytes[offsets[4] + WALFormat.recordHeaderSize] ^= 0xFF  // the fifth record's body
        try w.fs.setContents(path, bytes)
        var reader = try WALTailReader(fileSystem: w.fs, directory: w.directory, after: 0)
        XCTAssertThrowsError(try reader.read(through: 10, maxBytes: 1 << 20)) { error in
            guard case WALError.corruption(let c) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(c.file, path)
            XCTAssertEqual(c.offset, Int64(offsets[4]))
        }
    }

    func testReplicatedAppendsKeepTheirLSNsAndRefuseGaps() async throws {
        let leader = try WALFixture()
        let writer = try leader.openWriter()
        for i in 0..<20 { _ = try await writer.append(leader.record(leader.body(i))) }
        try await writer.close()  // LSN 21: the close marker
        var reader = try WALTailReader(fileSystem: leader.fs, directory: leader.directory, after: 0)
        let entries = try reader.read(through: 21, maxBytes: 1 << 20)
        XCTAssertEqual(entries.count, 21)

        let follower = try WALFixture()
        var options = WALWriterOptions()
        options.writesCloseMarker = false
        var copy = try follower.openWriter(options)
        do {
            try await copy.appendReplicated(Array(entries[1..<3]))
            XCTFail("LSN 2 was taken as the first record")
        } catch WALError.lsnMismatch(expected: 1, offered: 2) {}
        do {
            try await copy.appendReplicated([entries[0], entries[2]])
            XCTFail("a gap inside a batch was taken")
        } catch WALError.lsnMismatch(expected: 2, offered: 3) {}
        XCTAssertEqual(copy.nextLSN, 1, "nothing was appended")
        let committed = Mutex<[UInt64]>([])
        try await copy.appendReplicated(Array(entries[0..<10])) { lsn in committed.withLock { $0.append(lsn) } }
        XCTAssertEqual(committed.withLock { $0 }, Array(1...10))
        try await copy.close()
        copy = try follower.openWriter(options)
        XCTAssertEqual(copy.nextLSN, 11, "a follower's clean close takes no LSN")
        try await copy.appendReplicated(Array(entries[10...]))
        try await copy.close()
        var again = try WALTailReader(fileSystem: follower.fs, directory: follower.directory, after: 0)
        XCTAssertEqual(try again.read(through: 21, maxBytes: 1 << 20), entries, "the same records at the same LSNs")
    }
}
