import HSDBCore

/// The `HSDB` file at a database's root: says "this directory is an hsdb database" and which
/// format it holds. DESIGN.md, "Database directory".
///
///     magic "HSDBDATA" (8) | write format version u16 | read format version u16 | crc u32
///
/// A reader refuses a database whose read version is newer than it knows.
package enum DatabaseMarker {
    package static let fileName = "HSDB"
    static let magic: [UInt8] = Array("HSDBDATA".utf8)
    static let writeVersion: UInt16 = 1
    static let readVersion: UInt16 = 1

    package static func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.write(bytes: magic)
        w.write(writeVersion)
        w.write(readVersion)
        w.write(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    static func check(_ bytes: [UInt8], root: String) throws {
        let path = root + "/" + fileName
        guard bytes.count == 16 else {
            throw HSDBError.corruption(CorruptionError(file: path, offset: 0, reason: "marker file is \(bytes.count) bytes, expected 16"))
        }
        guard Array(bytes[0..<8]) == magic else { throw HSDBError.notADatabase(path: root, reason: "\(path) at offset 0: wrong magic, not an hsdb marker") }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian }
        guard stored == CRC32C.mask(CRC32C.checksum(Array(bytes[0..<12]))) else {
            throw HSDBError.corruption(CorruptionError(file: path, offset: 12, reason: "marker checksum mismatch"))
        }
        let read = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 10, as: UInt16.self).littleEndian }
        guard read <= readVersion else {
            throw HSDBError.notADatabase(path: root, reason: "it needs format version \(read); this build reads up to \(readVersion)")
        }
    }
}
