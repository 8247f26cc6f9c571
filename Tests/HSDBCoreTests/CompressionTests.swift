import Compression
import XCTest

final class CompressionTests: XCTestCase {
    func testLZ4RoundTrip() throws {
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 200).utf8)
        let compressed = try LZ4.compress(text)
        XCTAssertLessThan(compressed.count, text.count / 4)
        XCTAssertEqual(try compressed.withUnsafeBytes { try LZ4.decompress($0, originalSize: text.count) }, text)
        XCTAssertEqual(try LZ4.compress([]).withUnsafeBytes { try LZ4.decompress($0, originalSize: 0) }, [])
    }

    func testLZ4RejectsMalformedBlocksAndWrongSizes() throws {
        let compressed = try LZ4.compress(Array(repeating: 7, count: 1000))
        XCTAssertThrowsError(try compressed.withUnsafeBytes { try LZ4.decompress($0, originalSize: 999) })
        XCTAssertThrowsError(try compressed.withUnsafeBytes { try LZ4.decompress($0, originalSize: 1001) })
        XCTAssertThrowsError(try compressed.withUnsafeBytes { try LZ4.decompress(UnsafeRawBufferPointer(rebasing: $0.prefix(3)), originalSize: 1000) })
        XCTAssertThrowsError(try [0xFF, 0xFF, 0xFF].withUnsafeBytes { try LZ4.decompress($0, originalSize: 1 << 20) })
    }

    /// Found by the segment-reader fuzzer: a damaged block claiming a 1.8 GB original size
    /// was allocated before LZ4 refused it. The claim is now bounded by LZ4's maximum ratio,
    /// and the most compressible input still round-trips.
    func testLZ4RefusesSizesBeyondItsMaximumRatio() throws {
        for size in [1, 100, 1 << 20, 4 << 20] {
            let zeros = [UInt8](repeating: 0, count: size)
            let compressed = try LZ4.compress(zeros)
            XCTAssertEqual(try compressed.withUnsafeBytes { try LZ4.decompress($0, originalSize: size) }, zeros, "\(size) zeros")
        }
        XCTAssertThrowsError(try [0x1F, 0x00, 0x01, 0x00].withUnsafeBytes { try LZ4.decompress($0, originalSize: 1_800_000_000) })
    }

    func testGzipDecompress() throws {
        // `printf 'hello hsdb\n' | gzip -n | xxd -i`
        let gz: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
                           0x57, 0xc8, 0x28, 0x4e, 0x49, 0xe2, 0x02, 0x00, 0xe2, 0x47, 0x17, 0xd9, 0x0b, 0x00, 0x00, 0x00]
        XCTAssertEqual(String(decoding: try Gzip.decompress(gz), as: UTF8.self), "hello hsdb\n")
        XCTAssertThrowsError(try Gzip.decompress(Array(gz.prefix(20))))
    }
}
