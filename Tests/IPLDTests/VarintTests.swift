@testable import IPLD
import XCTest

final class VarintTests: XCTestCase {
    func testKnownEncodings() {
        let cases: [(UInt64, [UInt8])] = [
            (0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]),
            (16_383, [0xFF, 0x7F]), (16_384, [0x80, 0x80, 0x01]), (262_144, [0x80, 0x80, 0x10]),
            (Varint.maxValue, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
        ]
        for (value, bytes) in cases {
            XCTAssertEqual(Varint.encode(value), bytes, "\(value)")
            XCTAssertEqual(Varint.size(of: value), bytes.count, "\(value)")
            var offset = 0
            XCTAssertEqual(try Varint.read(bytes, at: &offset), value, "\(value)")
            XCTAssertEqual(offset, bytes.count)
        }
    }

    func testReadsFromAnOffsetAndStopsAtTheLastByte() throws {
        let bytes: [UInt8] = [0xEE, 0xAC, 0x02, 0x05]
        var offset = 1
        XCTAssertEqual(try Varint.read(bytes, at: &offset), 300)
        XCTAssertEqual(offset, 3)
        XCTAssertEqual(try Varint.read(bytes[...], at: &offset), 5)
    }

    func testRefusesNonMinimal() {
        for bytes: [UInt8] in [[0x80, 0x00], [0x81, 0x00], [0xFF, 0x80, 0x00], [0x80, 0x80, 0x80, 0x00]] {
            var offset = 0
            assertThrows(.nonCanonical(.varint, offset: 0, reason: "not minimally encoded")) {
                try Varint.read(bytes, at: &offset)
            }
        }
    }

    func testRefusesMoreThanNineBytes() {
        let ten: [UInt8] = Array(repeating: 0xFF, count: 9) + [0x01]
        var offset = 0
        assertThrows(.malformed(.varint, offset: 0, reason: "longer than 9 bytes")) { try Varint.read(ten, at: &offset) }
    }

    func testRefusesTruncation() {
        for bytes: [UInt8] in [[], [0x80], [0xFF, 0xFF]] {
            var offset = 0
            assertThrows(.malformed(.varint, offset: 0, reason: "ends after \(bytes.count) bytes")) {
                try Varint.read(bytes, at: &offset)
            }
        }
    }

    func testRoundTripsEveryBitLength() throws {
        for bits in 0...63 {
            for value: UInt64 in [(1 << UInt64(bits)) - 1, 1 << UInt64(bits)] where value <= Varint.maxValue {
                let bytes = Varint.encode(value)
                var offset = 0
                XCTAssertEqual(try Varint.read(bytes, at: &offset), value)
            }
        }
    }
}
