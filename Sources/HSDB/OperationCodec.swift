import Foundation
import HSDBCore
import WAL

/// WAL record bodies of the engine's operations. DESIGN.md, "Operation records". Frozen.
///
///     upsert (type 1): version u8 (1) | dimension u32 | count varint |
///                      count x (point id | dimension x f32 | payload length varint | payload)
///     delete (type 2): version u8 (1) | count varint | count x point id
///     point id:        kind u8 (0 = integer, 1 = UUID) | u64 or 16 UUID bytes
///     payload:         PayloadCodec bytes of an object
package enum OperationCodec {
    package static let upsertType = WALRecordType(rawValue: 1)
    package static let deleteType = WALRecordType(rawValue: 2)
    static let bodyVersion: UInt8 = 1

    /// Starts an upsert record for `count` points; add each with `appendPoint`.
    package static func beginUpsert(count: Int, dimension: Int) -> WALRecordBuffer {
        var record = WALRecordBuffer(type: upsertType, capacity: count * (dimension * 4 + 24) + 16)
        record.writer.write(bodyVersion)
        record.writer.write(UInt32(dimension))
        record.writer.writeVarint(UInt64(count))
        return record
    }

    /// Appends one point; returns the encoded size of its payload.
    @discardableResult
    package static func appendPoint(_ point: Point, to record: inout WALRecordBuffer) -> Int {
        writeID(point.id, into: &record.writer)
        record.writer.write(floats: point.vector)
        if point.payload.isEmpty {
            record.writer.writeVarint(2)
            record.writer.write(PayloadCodec.Tag.object.rawValue)
            record.writer.write(UInt8(0))
            return 2
        }
        let payload = PayloadCodec.encode(point.payload)
        record.writer.writeLengthPrefixed(payload)
        return payload.count
    }

    package static func encodeDelete(_ ids: [PointID]) -> WALRecordBuffer {
        var record = WALRecordBuffer(type: deleteType, capacity: ids.count * 17 + 8)
        record.writer.write(bodyVersion)
        record.writer.writeVarint(UInt64(ids.count))
        for id in ids { writeID(id, into: &record.writer) }
        return record
    }

    /// A point id as every hsdb format writes it: kind u8 (0 integer, 1 UUID), then the u64
    /// or the UUID's 16 bytes (also the state digest's id bytes).
    public static func writeID(_ id: PointID, into w: inout ByteWriter) {
        switch id {
        case .integer(let n):
            w.write(UInt8(0))
            w.write(n)
        case .uuid(let u):
            w.write(UInt8(1))
            withUnsafeBytes(of: u.uuid) { w.write(raw: $0) }
        }
    }

    static func readID(_ r: inout ByteReader) throws(FormatError) -> PointID {
        let at = r.offset
        switch try r.read(UInt8.self) {
        case 0: return .integer(try r.read(UInt64.self))
        case 1:
            let raw = try r.readBytes(16)
            return .uuid(UUID(uuid: raw.loadUnaligned(as: uuid_t.self)))
        case let kind: throw FormatError.invalid(offset: at, reason: "unknown point id kind \(kind)")
        }
    }

    /// The ids a record body writes (`upsert`) or deletes, without materializing vectors or
    /// payloads (a payload's bytes are skipped, not parsed): what a digest replay needs.
    static func decodeIDs(type: WALRecordType, body: UnsafeRawBufferPointer, dimension: Int) throws(FormatError) -> (upsert: Bool, ids: [PointID]) {
        var r = ByteReader(body)
        let (upsert, count) = try readHeader(type: type, &r, dimension: dimension)
        var ids: [PointID] = []
        ids.reserveCapacity(count)
        for _ in 0..<count {
            ids.append(try readID(&r))
            if upsert {
                try r.skip(dimension * 4)
                _ = try r.readLengthPrefixed(maxLength: r.remaining)
            }
        }
        try checkEnd(r)
        return (upsert, ids)
    }

    /// Decodes a record body. `dimension` is the collection's; a body with another is refused.
    static func decode(type: WALRecordType, body: UnsafeRawBufferPointer, dimension: Int) throws(FormatError) -> Operation {
        var r = ByteReader(body)
        let (upsert, count) = try readHeader(type: type, &r, dimension: dimension)
        let operation: Operation
        if upsert {
            var points: [Point] = []
            points.reserveCapacity(count)
            for _ in 0..<count {
                let id = try readID(&r)
                let vector = try r.readFloats(count: dimension)
                let payloadBytes = try r.readLengthPrefixed(maxLength: r.remaining)
                var pr = ByteReader(payloadBytes)
                let payload = try PayloadCodec.decodePayload(&pr)
                points.append(Point(id: id, vector: vector, payload: payload))
            }
            operation = .upsert(points)
        } else {
            var ids: [PointID] = []
            ids.reserveCapacity(count)
            for _ in 0..<count { ids.append(try readID(&r)) }
            operation = .delete(ids)
        }
        try checkEnd(r)
        return operation
    }

    /// The version byte, an upsert's dimension, and the count of points or ids, checked
    /// against what the rest of the body can hold. `upsert` false: a delete.
    private static func readHeader(
        type: WALRecordType, _ r: inout ByteReader, dimension: Int
    ) throws(FormatError) -> (upsert: Bool, count: Int) {
        let version: UInt8 = try r.read()
        guard version == bodyVersion else { throw FormatError.invalid(offset: 0, reason: "operation body version \(version) is not supported") }
        switch type {
        case upsertType:
            let dim = Int(try r.read(UInt32.self))
            guard dim == dimension else { throw FormatError.invalid(offset: 1, reason: "dimension \(dim) differs from the collection's \(dimension)") }
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining / (9 + dim * 4 + 1)) else {
                throw FormatError.invalid(offset: r.offset, reason: "point count \(count) exceeds what the body can hold")
            }
            return (true, Int(count))
        case deleteType:
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining / 9) else {
                throw FormatError.invalid(offset: r.offset, reason: "id count \(count) exceeds what the body can hold")
            }
            return (false, Int(count))
        default:
            throw FormatError.invalid(offset: 0, reason: "unknown operation record type \(type.rawValue)")
        }
    }

    private static func checkEnd(_ r: ByteReader) throws(FormatError) {
        guard r.isAtEnd else { throw FormatError.invalid(offset: r.offset, reason: "trailing bytes after the operation") }
    }
}
