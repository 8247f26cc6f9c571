import HSDBCore
@testable import WAL
import XCTest

/// Pins the byte layout DESIGN.md documents, so the document and the codec cannot drift apart.
final class RecordFormatTests: XCTestCase {
    func testRecordGoldenBytes() {
        var r = WALRecordBuffer(type: WALRecordType(rawValue: 1))
        r.writer.write(bytes: Array("hsdb".utf8))
        RecordCodec.seal(&r, lsn: 7, durableLSN: 6, bodyChecksum: RecordCodec.bodyChecksum(r))
        let hex = r.writer.bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
        XCTAssertEqual(hex, goldenRecord)
    }

    func testFileHeaderGoldenBytes() {
        let hex = WALFormat.encodeFileHeader(firstLSN: 1).map { String(format: "%02x", $0) }.joined(separator: " ")
        XCTAssertEqual(hex, goldenHeader)
    }

    func testClockRecordGoldenBytes() {
        // 2026-12-02T00:00:00Z, after the record at LSN 7, when LSN 6 was durable.
        let bytes = WALClock.encode(time: 1_796_169_600_000_000_000, lsn: 7, durableLSN: 6)
        XCTAssertEqual(bytes.map { String(format: "%02x", $0) }.joined(separator: " "), goldenClock)
    }

    func testVersion1FileHeaderStillDecodes() {
        let bytes = hexBytes(goldenHeaderVersion1)
        bytes.withUnsafeBytes { raw in
            guard case .success(let (lsn, version)) = WALFormat.decodeFileHeader(raw) else { return XCTFail("v1 header refused") }
            XCTAssertEqual(lsn, 1)
            XCTAssertEqual(version, 1)
        }
    }

    func testParseRoundTripAndEveryAnomaly() {
        var r = WALRecordBuffer(type: WALRecordType(rawValue: 2))
        r.writer.write(bytes: [1, 2, 3])
        RecordCodec.seal(&r, lsn: 42, durableLSN: 41, bodyChecksum: RecordCodec.bodyChecksum(r))
        let bytes = r.writer.bytes
        bytes.withUnsafeBytes { raw in
            guard case .record(let rec, let size) = RecordCodec.parse(raw, at: 0) else { return XCTFail("valid record refused") }
            XCTAssertEqual(rec.lsn, 42)
            XCTAssertEqual(rec.durableLSN, 41)
            XCTAssertEqual(rec.type.rawValue, 2)
            XCTAssertEqual(Array(rec.body), [1, 2, 3])
            XCTAssertEqual(size, bytes.count)
        }
        // Truncated at every length.
        for n in 0..<bytes.count {
            Array(bytes.prefix(n)).withUnsafeBytes { raw in
                guard case .truncated = RecordCodec.parse(raw, at: 0) else { return XCTFail("prefix \(n) not reported as truncated") }
            }
        }
        // Any single bit flipped anywhere is caught.
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            flipped.withUnsafeBytes { raw in
                if case .record = RecordCodec.parse(raw, at: 0) { XCTFail("flip of bit \(bit) not detected") }
            }
        }
        // Zeroed space is never a record.
        [UInt8](repeating: 0, count: 64).withUnsafeBytes { raw in
            guard case .invalid = RecordCodec.parse(raw, at: 0) else { return XCTFail("zeros parsed") }
        }
    }

    func testFileNames() {
        XCTAssertEqual(WALFormat.fileName(firstLSN: 1), "0000000000000001.wal")
        XCTAssertEqual(WALFormat.fileName(firstLSN: 0xABC), "0000000000000abc.wal")
        XCTAssertEqual(WALFormat.firstLSN(fromFileName: "0000000000000abc.wal"), 0xABC)
        XCTAssertNil(WALFormat.firstLSN(fromFileName: "0000000000000abc.wal.tmp"))
        XCTAssertNil(WALFormat.firstLSN(fromFileName: "zzzzzzzzzzzzzzzz.wal"))
    }
}

// The worked examples of DESIGN.md, "Write-ahead log".
let goldenRecord = "18 5a 00 74 04 00 00 00 07 00 00 00 00 00 00 00 06 00 00 00 00 00 00 00 01 00 00 00 68 73 64 62"
let goldenHeader = "48 53 44 42 2d 57 41 4c 02 00 20 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 c9 f5 26 e9"
let goldenHeaderVersion1 = "48 53 44 42 2d 57 41 4c 01 00 20 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 51 a4 ad 19"
let goldenClock = "c6 d1 47 58 08 00 00 00 07 00 00 00 00 00 00 00 06 00 00 00 00 00 00 00 81 00 00 00 00 00 5b 14 bc 46 ed 18"

func hexBytes(_ hex: String) -> [UInt8] { hex.split(separator: " ").map { UInt8($0, radix: 16)! } }
