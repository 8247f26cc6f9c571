import HSDBCore

/// The `ALIASES` file at a database's root: alternative names of collections (Qdrant's
/// aliases), replaced whole and atomically on every change. DESIGN.md, "Database directory".
///
///     magic "HSDBALIA" (8) | version u16 (1) | count u32 |
///     count x (alias: length u16 + UTF-8 | collection: length u16 + UTF-8), by ascending alias |
///     crc u32 = mask(crc32c(every byte before it))
package enum AliasFile {
    package static let fileName = "ALIASES"
    static let magic: [UInt8] = Array("HSDBALIA".utf8)
    static let version: UInt16 = 1

    package static func encode(_ aliases: [String: String]) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(bytes: magic)
        w.write(version)
        w.write(UInt32(aliases.count))
        for (alias, collection) in aliases.sorted(by: { $0.key < $1.key }) {
            for s in [alias, collection] {
                w.write(UInt16(s.utf8.count))
                w.write(bytes: Array(s.utf8))
            }
        }
        w.write(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    /// The aliases in `bytes`, read from `path`; any damage is a `CorruptionError` naming the
    /// file and offset.
    package static func decode(_ bytes: [UInt8], path: String) throws -> [String: String] {
        func bad(_ offset: Int, _ reason: String) -> HSDBError {
            .corruption(CorruptionError(file: path, offset: Int64(offset), reason: reason))
        }
        guard bytes.count >= 18 else { throw bad(0, "aliases file is \(bytes.count) bytes, too short") }
        let body = bytes.count - 4
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: body, as: UInt32.self).littleEndian }
        guard stored == CRC32C.mask(CRC32C.checksum(Array(bytes[0..<body]))) else { throw bad(body, "aliases checksum mismatch") }
        guard Array(bytes[0..<8]) == magic else { throw bad(0, "not an aliases file (bad magic)") }
        let v = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt16.self).littleEndian }
        guard v == version else { throw bad(8, "aliases format version \(v) is not supported (this build reads \(version))") }
        return try bytes.withUnsafeBytes { raw throws -> [String: String] in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[0..<body]), offset: 10)
            var aliases: [String: String] = [:]
            do {
                let count: UInt32 = try r.read()
                for _ in 0..<count {
                    let at = r.offset
                    var pair: [String] = []
                    for _ in 0..<2 {
                        let length: UInt16 = try r.read()
                        pair.append(String(decoding: try r.readBytes(Int(length)), as: UTF8.self))
                    }
                    guard aliases.updateValue(pair[1], forKey: pair[0]) == nil else { throw bad(at, "alias '\(pair[0])' appears twice") }
                }
            } catch let e as FormatError {
                throw bad(r.offset, "aliases file is cut short: \(e)")
            }
            guard r.isAtEnd else { throw bad(r.offset, "trailing bytes after the aliases") }
            return aliases
        }
    }
}
