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

    /// Writes a new file with `bytes`, durable (a WAL image built by hand).
    func createFile(_ path: String, _ bytes: [UInt8]) throws {
        let file = try fs.open(path, mode: .createNew)
        try bytes.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        try file.close()
    }

    /// Cuts the trailing close marker off, as if the process had died after its last write.
    func stripCloseMarker(_ path: String) throws {
        var bytes = try fs.contents(path)
        bytes.removeLast(WALFormat.recordHeaderSize)
        try fs.setContents(path, bytes)
    }

    /// The start offset of every engine record in a file (clock records left out).
    func recordOffsets(_ path: String) throws -> [Int] {
        try recordLayout(path).filter { !$0.isClock }.map(\.start)
    }

    /// Every record in a file, clock records included, following the length fields.
    func recordLayout(_ path: String) throws -> [(start: Int, end: Int, isClock: Bool)] {
        let bytes = try fs.contents(path)
        var layout: [(start: Int, end: Int, isClock: Bool)] = []
        var offset = WALFormat.fileHeaderSize
        while offset + WALFormat.recordHeaderSize <= bytes.count {
            let length = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) })
            let end = offset + WALFormat.recordHeaderSize + length
            layout.append((offset, end, bytes[offset + 24] == WALRecordType.clock.rawValue))
            offset = end
        }
        return layout
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
