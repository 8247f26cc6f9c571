import Foundation
import HSDBCore
import HSDBTestSupport
@testable import WAL
import XCTest

/// A WAL in the fault-injecting file system, with helpers to write, crash and recover it.
struct WALFixture {
    let fs = FaultInjectingFileSystem()
    let directory = "/db/wal"

    init() throws { try fs.createDirectories(directory) }

    func body(_ i: Int, size: Int? = nil) -> [UInt8] {
        let n = size ?? (10 + (i * 37) % 200)
        return (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }
    }

    func record(_ bytes: [UInt8]) -> WALRecordBuffer {
        var r = WALRecordBuffer(type: WALRecordType(rawValue: 1))
        r.writer.write(bytes: bytes)
        return r
    }

    @discardableResult
    func recover(_ options: WALRecoveryOptions = .init()) throws -> (WALRecoveryReport, [(UInt64, [UInt8])]) {
        var seen: [(UInt64, [UInt8])] = []
        let report = try WALRecovery.recover(fileSystem: fs, directory: directory, options: options) { r, _ in
            seen.append((r.lsn, Array(r.body)))
        }
        return (report, seen)
    }

    func openWriter(_ options: WALWriterOptions = .init()) throws -> WALWriter {
        let (report, _) = try recover()
        return try WALWriter(fileSystem: fs, directory: directory, recovered: report, options: options)
    }

    /// Writes `count` records one after another (each acknowledged before the next), closes
    /// the writer and, unless `keepCloseMarker`, cuts the close marker off (as if the process
    /// had been killed after the last acknowledgement). Returns each record's start offset
    /// in the last file and the file's path.
    func writeLog(count: Int, options: WALWriterOptions = .init(), keepCloseMarker: Bool = false) async throws -> (offsets: [Int], path: String) {
        let writer = try openWriter(options)
        for i in 0..<count { _ = try await writer.append(record(body(i))) }
        try await writer.close()
        let names = try WALRecovery.listWALFiles(fs, directory)
        let path = directory + "/" + names.last!.0
        if !keepCloseMarker { try stripCloseMarker(path) }
        let offsets = try recordOffsets(path)
        return (offsets, path)
    }

    /// Cuts the trailing close marker off, as if the process had died after its last write.
    func stripCloseMarker(_ path: String) throws {
        var bytes = try fs.contents(path)
        bytes.removeLast(WALFormat.recordHeaderSize)
        try fs.setContents(path, bytes)
    }

    /// The start offset of every record in a file, following the length fields.
    func recordOffsets(_ path: String) throws -> [Int] {
        let bytes = try fs.contents(path)
        var offsets: [Int] = []
        var offset = WALFormat.fileHeaderSize
        while offset + WALFormat.recordHeaderSize <= bytes.count {
            offsets.append(offset)
            offset += WALFormat.recordHeaderSize + Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) })
        }
        return offsets
    }
}

func XCTAssertThrowsCorruption(
    _ expression: @autoclosure () throws -> some Any, file expectedFile: String, offset: Int64,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        guard case WALError.corruption(let c)? = error as? WALError else {
            return XCTFail("expected corruption, got \(error)", file: file, line: line)
        }
        XCTAssertEqual(c.file, expectedFile, file: file, line: line)
        XCTAssertEqual(c.offset, offset, "\(c)", file: file, line: line)
    }
}
