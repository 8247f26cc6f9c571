import HSDBCore

/// Constants of the write-ahead log format, shared by the writer and the reader.
/// DESIGN.md, "Write-ahead log" documents every byte. Frozen: changing any value changes the
/// on-disk format (bump `formatVersion`).
///
/// A WAL is a directory of files named `<first LSN, 16 lowercase hex digits>.wal`. Each file:
///
///     file header (32 bytes) | record | record | ...
///
///     file header: magic "HSDB-WAL" (8) | format version u16 | header size u16 (32) |
///                  reserved u32 (0) | first LSN u64 | reserved u32 (0) | crc u32
///     record:      crc u32 | body length u32 | LSN u64 | durable LSN u64 |
///                  type u8 | flags u8 (0) | reserved u16 (0) | body
///     clock record:  type 129, the LSN of the record before it, body = commit time u64
///                    (nanoseconds since the Unix epoch); written after every group commit
///                    (format version 2)
///
/// All integers little-endian. Record crc = mask(crc32c(body ++ header bytes 4..<28)): the body
/// comes first so writers can checksum it before their LSN is known.
public enum WALFormat {
    public static let magic: [UInt8] = Array("HSDB-WAL".utf8)
    /// Version 2 added the clock record; version 1 files (no clock records) still open.
    public static let formatVersion: UInt16 = 2
    public static let readableVersions: ClosedRange<UInt16> = 1...2
    public static let fileHeaderSize = 32
    public static let recordHeaderSize = 28
    /// A body larger than this is never written, so a larger length field is corruption.
    public static let maxBodySize = 256 << 20
    public static let fileExtension = ".wal"

    /// The file name for a WAL file whose first record has `firstLSN`.
    public static func fileName(firstLSN: UInt64) -> String {
        let hex = String(firstLSN, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + fileExtension
    }

    /// The first LSN a WAL file name declares, or nil if the name is not a WAL file's.
    public static func firstLSN(fromFileName name: String) -> UInt64? {
        guard name.hasSuffix(fileExtension), name.count == 16 + fileExtension.count else { return nil }
        return UInt64(name.prefix(16), radix: 16)
    }

    /// The 32-byte header of a WAL file whose first record has `firstLSN`.
    public static func encodeFileHeader(firstLSN: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: fileHeaderSize)
        w.write(bytes: magic)
        w.write(formatVersion)
        w.write(UInt16(fileHeaderSize))
        w.write(UInt32(0))
        w.write(firstLSN)
        w.write(UInt32(0))
        w.write(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    /// The first LSN and format version from a file header, or a reason it is not valid.
    static func decodeFileHeader(_ bytes: UnsafeRawBufferPointer) -> Result<(firstLSN: UInt64, version: UInt16), HeaderProblem> {
        guard bytes.count >= fileHeaderSize else { return .failure(.short) }
        if bytes[0..<fileHeaderSize].allSatisfy({ $0 == 0 }) { return .failure(.zeroed) }
        let stored = bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self).littleEndian
        let computed = CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28])))
        guard stored == computed else { return .failure(.checksum) }
        guard Array(bytes[0..<8]) == magic else { return .failure(.magic) }
        let version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self).littleEndian
        guard readableVersions.contains(version) else { return .failure(.version(version)) }
        return .success((bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian, version))
    }

    enum HeaderProblem: Error {
        case short, zeroed, checksum, magic, version(UInt16)

        var reason: String {
            switch self {
            case .short: return "file is shorter than its 32-byte header"
            case .zeroed: return "file header is all zeros"
            case .checksum: return "file header checksum mismatch"
            case .magic: return "not a WAL file (bad magic)"
            case .version(let v): return "WAL format version \(v) is not supported (this build reads versions \(readableVersions.lowerBound) to \(readableVersions.upperBound))"
            }
        }
    }
}

/// Record types. 1...127 belong to the layer above (the engine's operations); the WAL itself
/// uses 128 and up. 0 is never valid, so zero-filled space never parses as a record.
public struct WALRecordType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Written when a WAL is closed cleanly; no body. Its durable LSN proves every record
    /// before it reached the disk, so corruption in them is not mistaken for a torn tail.
    public static let closeMarker = WALRecordType(rawValue: 128)
    /// The commit time of the records before it, back to the previous clock record: written
    /// by the syncer after each group-commit write, in the same write. It repeats the LSN of
    /// the record before it (it takes none of its own, so operation LSNs stay consecutive).
    public static let clock = WALRecordType(rawValue: 129)

    public var isValid: Bool { rawValue != 0 }
}
