@testable import IPLD
import Foundation
import HSDBCore
import XCTest

/// Bytes from a hex string with optional spaces, for golden vectors.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace }.utf8)
    precondition(digits.count % 2 == 0, "odd hex string")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// The deterministic test file of `count` bytes: SplitMix64 with seed 42, each output u64
/// little-endian, cut at `count`. The golden CIDs were computed from files made the same way
/// (a Python copy of this generator; see UnixFSGoldenTests).
struct SeededBytes {
    private var generator = SplitMix64(seed: 42)
    private var pending: [UInt8] = []

    /// The next `count` bytes of the stream.
    mutating func next(_ count: Int) -> [UInt8] {
        var out = pending
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: generator.next().littleEndian) { out.append(contentsOf: $0) }
        }
        pending = Array(out[count...])
        out.removeLast(out.count - count)
        return out
    }
}

/// Asserts that `body` throws an `ArchiveCodecError` equal to `expected`.
func assertThrows<T>(
    _ expected: ArchiveCodecError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected \(expected), nothing was thrown", file: file, line: line)
    } catch let error as ArchiveCodecError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

/// The `ArchiveCodecError` that `body` throws, failing the test if it throws nothing.
func codecError<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) -> ArchiveCodecError? {
    do {
        _ = try body()
        XCTFail("expected an error, nothing was thrown", file: file, line: line)
    } catch let error as ArchiveCodecError {
        return error
    } catch {
        XCTFail("expected an ArchiveCodecError, got \(error)", file: file, line: line)
    }
    return nil
}
