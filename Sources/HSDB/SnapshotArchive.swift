import Foundation
import Crypto
import HSDBCore

/// The format of collection snapshots before they were backup CARs (CollectionSnapshot, in
/// Backup): read only, so snapshots written by earlier versions still recover. The
/// collection's files at one LSN, each with its own CRC, and a SHA-256 of the whole archive
/// at the end. DESIGN.md, "Legacy snapshot archive".
///
///     header:  magic "HSDBSNAP" (8) | format version u16 (1) | lsn u64 | entry count u32 |
///              crc u32 = mask(crc32c(the header bytes before it))
///     entry:   kind u8 (1 metadata, 2 manifest, 3 segment) | name (varint length + UTF-8) |
///              length u64 | crc u32 = mask(crc32c(data)) | data (length bytes)
///     trailer: magic "HSDBSEND" (8) | SHA-256 of every byte before the trailer (32)
///
/// All integers little-endian. Exactly one metadata and one manifest entry; segment entries
/// are named `<sha256>.seg` as in the segments directory.
enum SnapshotArchive {
    static let magic: [UInt8] = Array("HSDBSNAP".utf8)
    static let endMagic: [UInt8] = Array("HSDBSEND".utf8)
    static let formatVersion: UInt16 = 1
    static let headerSize = 8 + 2 + 8 + 4 + 4
    static let trailerSize = 8 + 32

    enum Kind: UInt8 {
        case metadata = 1, manifest = 2, segment = 3
    }

    struct Entry {
        let kind: Kind
        let name: String
        /// Where the data lies in the archive.
        let offset: Int
        let length: Int
    }

    /// Reads and checks an archive: header CRC, every entry's CRC, the trailer's SHA-256.
    /// Errors name the file and the offset of the first bad byte.
    static func read(_ bytes: UnsafeRawBufferPointer, path: String) throws -> (lsn: UInt64, entries: [Entry]) {
        func corrupt(_ offset: Int, _ reason: String) -> HSDBError {
            .corruption(CorruptionError(file: path, offset: Int64(offset), reason: reason))
        }
        guard bytes.count >= headerSize + trailerSize else { throw corrupt(0, "file is \(bytes.count) bytes, too short for an hsdb snapshot") }
        guard Array(bytes[0..<8]) == magic else { throw corrupt(0, "bad magic: not an hsdb snapshot") }
        let storedHeaderCRC = bytes.loadUnaligned(fromByteOffset: headerSize - 4, as: UInt32.self).littleEndian
        guard CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(headerSize - 4)]))) == storedHeaderCRC else {
            throw corrupt(headerSize - 4, "snapshot header checksum mismatch")
        }
        let trailerStart = bytes.count - trailerSize
        guard Array(bytes[trailerStart..<(trailerStart + 8)]) == endMagic else { throw corrupt(trailerStart, "missing end marker: the snapshot is truncated") }
        let digest = Array(SHA256.hash(data: UnsafeRawBufferPointer(rebasing: bytes[0..<trailerStart])))
        guard digest == Array(bytes[(trailerStart + 8)...]) else { throw corrupt(trailerStart + 8, "snapshot SHA-256 mismatch") }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<trailerStart]), offset: 8)
        do {
            let version: UInt16 = try r.read()
            guard version == formatVersion else { throw corrupt(8, "snapshot format version \(version) is not supported") }
            let lsn: UInt64 = try r.read()
            let count = Int(try r.read(UInt32.self))
            _ = try r.read(UInt32.self)
            var entries: [Entry] = []
            for _ in 0..<count {
                let start = r.offset
                guard let kind = Kind(rawValue: try r.read()) else { throw corrupt(start, "unknown snapshot entry kind") }
                let name = try r.readString(maxLength: 255)
                let lengthOffset = r.offset
                let length = try r.read(UInt64.self)
                guard length <= UInt64(trailerStart) else { throw corrupt(lengthOffset, "entry length \(length) runs past the file") }
                let crc: UInt32 = try r.read()
                let dataOffset = r.offset
                let data = try r.readBytes(Int(length))
                guard CRC32C.mask(CRC32C.checksum(data)) == crc else { throw corrupt(dataOffset, "checksum mismatch in entry '\(name)'") }
                entries.append(Entry(kind: kind, name: name, offset: dataOffset, length: Int(length)))
            }
            guard r.offset == trailerStart else { throw corrupt(r.offset, "\(trailerStart - r.offset) unexpected bytes after the last entry") }
            guard entries.filter({ $0.kind == .metadata }).count == 1, entries.filter({ $0.kind == .manifest }).count == 1 else {
                throw corrupt(headerSize, "a snapshot needs exactly one metadata and one manifest entry")
            }
            return (lsn, entries)
        } catch let e as FormatError {
            throw corrupt(e.offset, e.description)
        }
    }
}
