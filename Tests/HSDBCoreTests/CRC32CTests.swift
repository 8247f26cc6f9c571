import HSDBCore
import XCTest

final class CRC32CTests: XCTestCase {
    /// Bit-at-a-time reference: slow, obviously right.
    func reference(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    func testKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    func testMatchesReferenceAtEveryLengthAndAcrossStreamBoundaries() {
        var rng = SystemRandomNumberGenerator()
        let big = (0..<(3 * 8192 * 2 + 3 * 256 + 77)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for n in Array(0..<300) + [767, 768, 769, 24_575, 24_576, 24_577, big.count] {
            let slice = Array(big.prefix(n))
            XCTAssertEqual(CRC32C.checksum(slice), reference(slice), "length \(n)")
        }
    }

    func testContinuationEqualsWholeChecksum() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for split in [0, 1, 7, 500, 999, 1000] {
            let first = CRC32C.checksum(Array(bytes[..<split]))
            XCTAssertEqual(CRC32C.checksum(Array(bytes[split...]), continuing: first), CRC32C.checksum(bytes), "split \(split)")
        }
    }

    func testMaskRoundTripsAndChangesValue() {
        for v: UInt32 in [0, 1, 0xE306_9283, .max] {
            XCTAssertEqual(CRC32C.unmask(CRC32C.mask(v)), v)
            XCTAssertNotEqual(CRC32C.mask(v), v)
        }
    }
}
