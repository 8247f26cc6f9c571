import HSDBCore

/// The `WAL-PINS` file of a collection: named readers of the WAL (a backup archiver, a
/// replication slot) and the oldest LSN each still needs. Retention never deletes a WAL file
/// holding that LSN or a later one, across restarts. Replaced atomically. DESIGN.md, "WAL pins".
///
///     magic "HSDBPINS" (8) | format version u16 (1) | count varint |
///     count x ( name (varint length + UTF-8, at most 64 bytes) | LSN u64 ), by name |
///     crc u32 = mask(crc32c(every byte before it))
struct WALPins: Equatable, Sendable {
    static let fileName = "WAL-PINS"
    static let magic: [UInt8] = Array("HSDBPINS".utf8)
    static let formatVersion: UInt16 = 1
    static let maxNameBytes = 64

    var pins: [String: UInt64] = [:]

    /// The oldest LSN any reader needs, or nil with no pin.
    var oldest: UInt64? { pins.values.min() }

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + pins.count * 32)
        w.write(bytes: Self.magic)
        w.write(Self.formatVersion)
        w.writeVarint(UInt64(pins.count))
        for name in pins.keys.sorted() {
            w.writeString(name)
            w.write(pins[name]!)
        }
        SealedFile.seal(&w)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws(CorruptionError) -> WALPins {
        try SealedFile.decode(bytes, path: path, magic: magic, what: "WAL pins file", minimumSize: 8 + 2 + 1 + 4) {
            (r: inout ByteReader) throws(FormatError) -> WALPins in
            let format: UInt16 = try r.read()
            guard format == formatVersion else { throw FormatError.invalid(offset: 8, reason: "WAL pins format \(format) is not supported") }
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining / 9) else { throw FormatError.invalid(offset: r.offset, reason: "pin count exceeds the file") }
            var pins = WALPins()
            for _ in 0..<count {
                let at = r.offset
                let name = try r.readString(maxLength: maxNameBytes)
                guard pins.pins[name] == nil else { throw FormatError.invalid(offset: at, reason: "pin '\(name)' appears twice") }
                pins.pins[name] = try r.read()
            }
            return pins
        }
    }
}
