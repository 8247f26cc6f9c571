import Compression
import HSDBCore

/// Payloads in a segment: consecutive ordinals' encoded payloads (each a varint length and
/// the `PayloadCodec` bytes) packed into blocks of about `targetBlockBytes`, each compressed
/// with LZ4 when that makes it smaller. The directory has one 32-byte entry per block:
///
///     first ordinal u32 | point count u32 | offset u64 (in the payload data section) |
///     stored length u32 | raw length u32 | crc u32 (masked crc32c of the stored bytes) |
///     flags u32 (bit 0: LZ4)
///
/// A read checks the block's own CRC before decompressing, so a bad payload byte is an error,
/// never a wrong payload.
enum PayloadBlocks {
    static let entrySize = 32
    static let targetBlockBytes = 32 << 10
    static let lz4Flag: UInt32 = 1

    struct Built {
        var index: [UInt8]
        var data: [UInt8]
    }

    /// Packs `payloads` (encoded payloads in ordinal order).
    static func build(_ count: Int, payload: (Int) throws -> [UInt8]) throws -> Built {
        var index = ByteWriter(capacity: (count / 64 + 1) * entrySize)
        var data: [UInt8] = []
        var raw = ByteWriter(capacity: targetBlockBytes + 1024)
        var first = 0
        func flush(upTo end: Int) throws {
            guard end > first else { return }
            let compressed = try LZ4.compress(raw.bytes)
            let useLZ4 = compressed.count < raw.count
            let stored = useLZ4 ? compressed : raw.bytes
            index.write(UInt32(first))
            index.write(UInt32(end - first))
            index.write(UInt64(data.count))
            index.write(UInt32(stored.count))
            index.write(UInt32(raw.count))
            index.write(CRC32C.mask(CRC32C.checksum(stored)))
            index.write(useLZ4 ? lz4Flag : 0)
            data += stored
            raw = ByteWriter(capacity: targetBlockBytes + 1024)
            first = end
        }
        for ordinal in 0..<count {
            raw.writeLengthPrefixed(try payload(ordinal))
            if raw.count >= targetBlockBytes { try flush(upTo: ordinal + 1) }
        }
        try flush(upTo: count)
        return Built(index: index.bytes, data: data)
    }

    struct Entry {
        var first: Int
        var count: Int
        var offset: Int
        var storedLength: Int
        var rawLength: Int
        var crc: UInt32
        var flags: UInt32
    }

    static func entry(_ index: UnsafeRawBufferPointer, _ i: Int) -> Entry {
        let o = i * entrySize
        func u32(_ k: Int) -> Int { Int(index.loadUnaligned(fromByteOffset: o + k, as: UInt32.self).littleEndian) }
        return Entry(
            first: u32(0), count: u32(4),
            offset: Int(truncatingIfNeeded: index.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self).littleEndian),
            storedLength: u32(16), rawLength: u32(20), crc: UInt32(u32(24)), flags: UInt32(u32(28)))
    }
}
