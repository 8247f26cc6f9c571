import HSDBCore

/// The `MANIFEST` file of a collection: which segments are live, which of their points are
/// dead, and up to which LSN the WAL has been folded into them. Replaced atomically (temporary
/// file, fsync, rename, directory fsync) after every flush and compaction. DESIGN.md, "Manifest".
///
///     magic "HSDBMANI" (8) | format version u16 (1) | manifest version u64 | flushed LSN u64 |
///     segment count varint | segments, oldest first:
///         content id (32 bytes: the SHA-256) | point count u32 | min LSN u64 | max LSN u64 |
///         file bytes u64 | dead count varint | dead ordinals (ascending; the first as is,
///         then each as the difference from the previous, varints)
///     payload index count varint | indexes, by key: key (string) | type u8
///     crc u32 = mask(crc32c(every byte before it))
struct Manifest: Equatable {
    struct SegmentEntry: Equatable {
        var contentID: String
        var count: Int
        var minLSN: UInt64
        var maxLSN: UInt64
        var bytes: Int
        /// Ordinals whose point was overwritten or deleted at or before `flushedLSN`.
        var dead: [Int]
    }

    static let fileName = "MANIFEST"
    static let magic: [UInt8] = Array("HSDBMANI".utf8)
    static let formatVersion: UInt16 = 1

    var version: UInt64 = 0
    /// Every WAL record up to this LSN is in the segments; recovery replays only later ones.
    var flushedLSN: UInt64 = 0
    var segments: [SegmentEntry] = []
    /// Declared payload field indexes.
    var payloadIndexes: [String: PayloadIndexType] = [:]

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + segments.count * 64)
        w.write(bytes: Self.magic)
        w.write(Self.formatVersion)
        w.write(version)
        w.write(flushedLSN)
        w.writeVarint(UInt64(segments.count))
        for s in segments {
            w.write(bytes: Self.bytes(fromHex: s.contentID))
            w.write(UInt32(s.count))
            w.write(s.minLSN)
            w.write(s.maxLSN)
            w.write(UInt64(s.bytes))
            w.writeVarint(UInt64(s.dead.count))
            var previous = 0
            for (i, o) in s.dead.enumerated() {
                w.writeVarint(UInt64(i == 0 ? o : o - previous))
                previous = o
            }
        }
        w.writeVarint(UInt64(payloadIndexes.count))
        for key in payloadIndexes.keys.sorted() {
            w.writeString(key)
            w.write(payloadIndexes[key]!.rawValue)
        }
        SealedFile.seal(&w)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws(CorruptionError) -> Manifest {
        try SealedFile.decode(bytes, path: path, magic: magic, what: "manifest", minimumSize: 8 + 2 + 16 + 1 + 4) {
            (r: inout ByteReader) throws(FormatError) -> Manifest in
            let format: UInt16 = try r.read()
            guard format == formatVersion else { throw FormatError.invalid(offset: 8, reason: "manifest format \(format) is not supported") }
            var m = Manifest(version: try r.read(), flushedLSN: try r.read())
            let segmentCount = try r.readVarint()
            guard segmentCount <= UInt64(r.remaining / 60) else { throw FormatError.invalid(offset: r.offset, reason: "segment count exceeds the file") }
            for _ in 0..<segmentCount {
                let id = try r.readBytes(32)
                let count = Int(try r.read(UInt32.self))
                let (minLSN, maxLSN): (UInt64, UInt64) = (try r.read(), try r.read())
                let bytesAt = r.offset
                let fileBytes: UInt64 = try r.read()
                guard fileBytes <= UInt64(Int64.max) else { throw FormatError.invalid(offset: bytesAt, reason: "segment size \(fileBytes) is impossible") }
                var entry = SegmentEntry(
                    contentID: id.map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined(),
                    count: count, minLSN: minLSN, maxLSN: maxLSN, bytes: Int(fileBytes), dead: [])
                let deadCount = try r.readVarint()
                guard deadCount <= UInt64(entry.count), deadCount <= UInt64(r.remaining) else {
                    throw FormatError.invalid(offset: r.offset, reason: "dead count \(deadCount) exceeds the segment")
                }
                var previous = 0
                for i in 0..<Int(deadCount) {
                    let at = r.offset
                    let delta = try r.readVarint()
                    // Both below the count (< 2^32), so the sum cannot overflow.
                    guard delta < UInt64(entry.count), i == 0 || delta > 0, (i == 0 ? 0 : previous) + Int(delta) < entry.count else {
                        throw FormatError.invalid(offset: at, reason: "dead ordinal out of order or range")
                    }
                    let ordinal = (i == 0 ? 0 : previous) + Int(delta)
                    entry.dead.append(ordinal)
                    previous = ordinal
                }
                m.segments.append(entry)
            }
            let indexCount = try r.readVarint()
            guard indexCount <= UInt64(r.remaining) else { throw FormatError.invalid(offset: r.offset, reason: "index count exceeds the file") }
            for _ in 0..<indexCount {
                let key = try r.readString(maxLength: r.remaining)
                let at = r.offset
                guard let type = PayloadIndexType(rawValue: try r.read(UInt8.self)) else {
                    throw FormatError.invalid(offset: at, reason: "unknown payload index type")
                }
                m.payloadIndexes[key] = type
            }
            return m
        }
    }

    private static let hexDigits = (0..<16).map { String($0, radix: 16) }

    static func bytes(fromHex hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for c in hex.utf8 {
            let v = c <= 57 ? c - 48 : c - 87
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}
