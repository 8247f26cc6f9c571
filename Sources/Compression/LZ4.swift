import CLZ4
import HSDBCore

/// LZ4 block compression for payload blocks (LZ4 does not compress float vectors: they are
/// stored raw). Sizes read from disk are untrusted: decompression is bounds-checked by
/// liblz4's safe decoder and by `maxDecompressedSize`.
public enum LZ4 {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case inputTooLarge(Int)
        case malformed(compressedSize: Int, expectedSize: Int)

        public var description: String {
            switch self {
            case .inputTooLarge(let n): return "LZ4 input of \(n) bytes exceeds the 2 GiB block limit"
            case .malformed(let c, let e): return "LZ4 block of \(c) bytes does not decompress to the expected \(e) bytes"
            }
        }
    }

    public static func compress(_ input: [UInt8]) throws -> [UInt8] {
        guard input.count <= Int(LZ4_MAX_INPUT_SIZE) else { throw Failure.inputTooLarge(input.count) }
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        var output = [UInt8](repeating: 0, count: max(bound, 1))
        let written = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                LZ4_compress_default(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(dst.count))
            }
        }
        precondition(written > 0 || input.isEmpty, "LZ4_compress_default failed with a bound-sized output")
        output.removeLast(output.count - Int(written))
        return output
    }

    /// Decompresses a block that must expand to exactly `originalSize` bytes.
    public static func decompress(_ input: UnsafeRawBufferPointer, originalSize: Int) throws -> [UInt8] {
        // LZ4 expands at most ~255 times (a match length grows by 255 per extra byte), so a
        // larger claimed size is damage, refused before it is allocated.
        guard originalSize >= 0, originalSize <= Int(LZ4_MAX_INPUT_SIZE), originalSize <= input.count * 255 + 64 else {
            throw Failure.malformed(compressedSize: input.count, expectedSize: originalSize)
        }
        if originalSize == 0 {
            guard input.count <= 1 else { throw Failure.malformed(compressedSize: input.count, expectedSize: 0) }
            return []
        }
        var output = [UInt8](repeating: 0, count: originalSize)
        let n = output.withUnsafeMutableBytes { dst in
            LZ4_decompress_safe(
                input.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(input.count), Int32(originalSize))
        }
        guard n == originalSize else { throw Failure.malformed(compressedSize: input.count, expectedSize: originalSize) }
        return output
    }
}
