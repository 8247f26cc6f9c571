import HSDBCore
import WAL

/// A reference copy's points at their versions, as a copy under repair fetches them
/// (`POST /replication/collections/{c}/points`). DESIGN.md, "Anti-entropy repair":
///
///     magic "HSDBRPTS" (8) | format u16 (1) | count varint | count x version u64 |
///     an upsert record body of version 4 (section "Operation records": the same points in
///     the same order, vectors as stored) |
///     crc u32 = mask(crc32c(every byte before it))
///
/// integers little-endian. One codec, the WAL's, for the points themselves.
public enum RepairPointsCodec {
    static let magic: [UInt8] = Array("HSDBRPTS".utf8)
    static let formatVersion: UInt16 = 1

    public static func encode(_ records: [Record], lanes: [NamedVectorConfig], dimension: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + records.count * (dimension * 4 + 40))
        w.write(bytes: magic)
        w.write(formatVersion)
        w.writeVarint(UInt64(records.count))
        for r in records { w.write(r.version) }
        var body = OperationCodec.beginUpsert(count: records.count, dimension: dimension, multivectors: true)
        for r in records {
            let point = Point(id: r.id, vector: r.vector, sparse: r.sparse ?? [:], named: r.named ?? [:], payload: r.payload ?? [:])
            OperationCodec.appendPoint(point, lanes: lanes, to: &body)
        }
        w.write(bytes: body.writer.bytes[WALFormat.recordHeaderSize...])
        SealedFile.seal(&w)
        return w.bytes
    }

    /// The points and their versions; `source` names the sender in errors.
    public static func decode(
        _ bytes: [UInt8], source: String, lanes: [NamedVectorConfig], dimension: Int
    ) throws(CorruptionError) -> [(point: Point, version: UInt64)] {
        try SealedFile.decode(bytes, path: source, magic: magic, what: "repair points answer", minimumSize: 8 + 2 + 1 + 4) {
            (r: inout ByteReader) throws(FormatError) -> [(point: Point, version: UInt64)] in
            let format: UInt16 = try r.read()
            guard format == formatVersion else { throw FormatError.invalid(offset: 8, reason: "repair points format \(format) is not supported") }
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining / 8) else { throw FormatError.invalid(offset: r.offset, reason: "point count exceeds the answer") }
            var versions: [UInt64] = []
            for _ in 0..<count { versions.append(try r.read()) }
            let at = r.offset
            let operation = try OperationCodec.decode(
                type: OperationCodec.upsertType, body: try r.readBytes(r.remaining), dimension: dimension, lanes: lanes)
            guard case .upsert(let points) = operation, points.count == versions.count else {
                throw FormatError.invalid(offset: at, reason: "the upsert body holds another number of points than versions")
            }
            return Array(zip(points, versions).map { (point: $0, version: $1) })
        }
    }
}
