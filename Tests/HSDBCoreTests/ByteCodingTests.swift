import HSDBCore
import XCTest

final class ByteCodingTests: XCTestCase {
    func testIntegersAreLittleEndian() {
        var w = ByteWriter()
        w.write(UInt32(0x0102_0304))
        w.write(UInt16(0xABCD))
        w.write(Int64(-2))
        XCTAssertEqual(w.bytes, [4, 3, 2, 1, 0xCD, 0xAB, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    func testRoundTrip() throws {
        var w = ByteWriter()
        w.write(UInt8(7))
        w.write(UInt64.max)
        w.write(Float(1.5))
        w.write(Double(-0.25))
        w.writeString("héllo")
        w.write(floats: [1, 2, 3])
        for v: UInt64 in [0, 127, 128, 300, 1 << 35, .max] { w.writeVarint(v) }
        try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertEqual(try r.read(UInt8.self), 7)
            XCTAssertEqual(try r.read(UInt64.self), .max)
            XCTAssertEqual(try r.readFloat(), 1.5)
            XCTAssertEqual(try r.readDouble(), -0.25)
            XCTAssertEqual(try r.readString(maxLength: 100), "héllo")
            XCTAssertEqual(try r.readFloats(count: 3), [1, 2, 3])
            for v: UInt64 in [0, 127, 128, 300, 1 << 35, .max] { XCTAssertEqual(try r.readVarint(), v) }
            XCTAssertTrue(r.isAtEnd)
        }
    }

    func testVarintEncoding() {
        var w = ByteWriter()
        w.writeVarint(300)
        XCTAssertEqual(w.bytes, [0xAC, 0x02])
    }

    func testTruncatedInputThrowsInsteadOfTrapping() throws {
        let bytes: [UInt8] = [1, 2, 3]
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertThrowsError(try r.read(UInt32.self)) { error in
                XCTAssertEqual(error as? FormatError, .truncated(offset: 0, needed: 4, available: 3))
            }
            XCTAssertThrowsError(try r.readFloats(count: Int.max / 2))
            XCTAssertThrowsError(try r.readBytes(-1))
        }
    }

    func testOverlongVarintIsRejected() throws {
        let bytes = [UInt8](repeating: 0xFF, count: 11)
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertThrowsError(try r.readVarint())
        }
    }

    func testLengthPrefixOverLimitIsRejected() throws {
        var w = ByteWriter()
        w.writeLengthPrefixed([UInt8](repeating: 1, count: 10))
        try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertThrowsError(try r.readLengthPrefixed(maxLength: 9))
        }
    }

    func testInvalidUTF8IsRejected() throws {
        var w = ByteWriter()
        w.writeLengthPrefixed([0xC3, 0x28])
        try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            XCTAssertThrowsError(try r.readString(maxLength: 10))
        }
    }
}
