import Foundation
import HSDBCore
import WAL

/// WAL record bodies of the engine's operations. DESIGN.md, "Operation records". Frozen.
///
///     upsert (type 1): version u8 (1 to 4) | dimension u32 | count varint |
///                      count x (point id | versions 1, 2: dimension x f32 |
///                               versions 3, 4: dense vectors | [versions 2 to 4: sparse
///                               vectors] | payload length varint | payload)
///     dense vectors:   count varint | count x (vector index varint, ascending (0: the
///                      collection's first dense vector; k: its further vector k, the
///                      collection metadata's k-th) | [version 4: rows varint (1, or for a
///                      multivector its vectors, at least 1)] | rows x that vector's
///                      dimension x f32)
///     delete (type 2): version u8 (1) | count varint | count x point id
///     point id:        kind u8 (0 = integer, 1 = UUID) | u64 or 16 UUID bytes
///     sparse vectors:  count varint | count x (name (varint length + UTF-8) | entries varint |
///                      entries x u32 index (ascending) | entries x f32 value)
///     payload:         PayloadCodec bytes of an object
///
/// An upsert is written as version 3 only when one of its points has no dense vector or has
/// further ones (version 4 only when one carries a multivector), else as
/// version 2 only when one has a sparse vector, so older records keep their bytes (and older
/// builds read what they could hold).
package enum OperationCodec {
    package static let upsertType = WALRecordType(rawValue: 1)
    package static let deleteType = WALRecordType(rawValue: 2)
    static let bodyVersion: UInt8 = 1
    static let sparseBodyVersion: UInt8 = 2
    static let optionalVectorsBodyVersion: UInt8 = 3
    static let multivectorBodyVersion: UInt8 = 4

    /// Starts an upsert record for `count` points; add each with `appendPoint`. `sparse`: some
    /// point carries sparse vectors (the record is then version 2); `absentVectors`: some
    /// point carries no dense vector (version 3).
    /// `absentVectors` also when some point carries further dense vectors (`Point.named`).
    /// `multivectors`: some point carries a multivector (the record is then version 4).
    package static func beginUpsert(
        count: Int, dimension: Int, sparse: Bool = false, absentVectors: Bool = false, multivectors: Bool = false
    ) -> WALRecordBuffer {
        var record = WALRecordBuffer(type: upsertType, capacity: count * (dimension * 4 + 24) + 16)
        let version = multivectors ? multivectorBodyVersion : absentVectors ? optionalVectorsBodyVersion : sparse ? sparseBodyVersion : bodyVersion
        record.writer.write(version)
        record.writer.write(UInt32(dimension))
        record.writer.writeVarint(UInt64(count))
        return record
    }

    /// Appends one point; returns the encoded size of its payload.
    /// `lanes`: the collection's further dense vectors, in lane order (the point's `named`
    /// must name only them; a record begun with `absentVectors: true` when it has any).
    @discardableResult
    package static func appendPoint(_ point: Point, lanes: [NamedVectorConfig] = [], to record: inout WALRecordBuffer) -> Int {
        writeID(point.id, into: &record.writer)
        let version = record.writer.bytes[WALFormat.recordHeaderSize]
        if version >= optionalVectorsBodyVersion {
            record.writer.writeVarint(UInt64((point.vector == nil ? 0 : 1) + point.named.count))
            if let vector = point.vector {
                record.writer.writeVarint(0)
                if version == multivectorBodyVersion { record.writer.writeVarint(1) }
                record.writer.write(floats: vector)
            }
            for (l, lane) in lanes.enumerated() {
                guard let vector = point.named[lane.name] else { continue }
                record.writer.writeVarint(UInt64(l + 1))
                if version == multivectorBodyVersion {
                    record.writer.writeVarint(UInt64(vector.count / lane.dimension))
                } else {
                    precondition(!lane.multivector, "a point with a multivector needs a record begun with multivectors: true")
                }
                record.writer.write(floats: vector)
            }
        } else {
            precondition(point.named.isEmpty, "a point with further dense vectors needs a record begun with absentVectors: true")
            precondition(point.vector != nil, "a point without its dense vector needs a record begun with absentVectors: true")
            record.writer.write(floats: point.vector!)
        }
        if version >= sparseBodyVersion {
            writeSparse(point.sparse, into: &record.writer)
        } else {
            precondition(point.sparse.isEmpty, "a point with sparse vectors needs a record begun with sparse: true")
        }
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

    package static func writeSparse(_ sparse: [String: SparseVector], into w: inout ByteWriter) {
        w.writeVarint(UInt64(sparse.count))
        for (name, v) in sparse.sorted(by: { $0.key < $1.key }) {
            w.writeString(name)
            w.writeVarint(UInt64(v.indices.count))
            for i in v.indices { w.write(i) }
            w.write(floats: v.values)
        }
    }

    static func readSparse(_ r: inout ByteReader) throws(FormatError) -> [String: SparseVector] {
        let count = try r.readVarint()
        guard count <= UInt64(r.remaining) else { throw FormatError.invalid(offset: r.offset, reason: "sparse vector count \(count) exceeds the body") }
        var sparse: [String: SparseVector] = [:]
        for _ in 0..<count {
            let at = r.offset
            let name = try r.readString(maxLength: Validation.maxNameBytes)
            let entries = try r.readVarint()
            guard entries <= UInt64(r.remaining / 8) else {
                throw FormatError.invalid(offset: r.offset, reason: "sparse vector '\(name)' has \(entries) entries, more than the body holds")
            }
            var indices: [UInt32] = []
            indices.reserveCapacity(Int(entries))
            for _ in 0..<entries { indices.append(try r.read(UInt32.self)) }
            let values = try r.readFloats(count: Int(entries))
            guard zip(indices, indices.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw FormatError.invalid(offset: at, reason: "sparse vector '\(name)' indices are not strictly ascending")
            }
            guard sparse.updateValue(SparseVector(indices: indices, values: values), forKey: name) == nil else {
                throw FormatError.invalid(offset: at, reason: "sparse vector '\(name)' appears twice")
            }
        }
        return sparse
    }

    static func skipSparse(_ r: inout ByteReader) throws(FormatError) {
        let count = try r.readVarint()
        guard count <= UInt64(r.remaining) else { throw FormatError.invalid(offset: r.offset, reason: "sparse vector count \(count) exceeds the body") }
        for _ in 0..<count {
            _ = try r.readLengthPrefixed(maxLength: Validation.maxNameBytes)
            let entries = try r.readVarint()
            guard entries <= UInt64(r.remaining / 8) else { throw FormatError.invalid(offset: r.offset, reason: "sparse entries exceed the body") }
            try r.skip(Int(entries) * 8)
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
    static func decodeIDs(
        type: WALRecordType, body: UnsafeRawBufferPointer, dimension: Int, lanes: [NamedVectorConfig] = []
    ) throws(FormatError) -> (upsert: Bool, ids: [PointID]) {
        var r = ByteReader(body)
        let (upsert, count, version) = try readHeader(type: type, &r, dimension: dimension)
        var ids: [PointID] = []
        ids.reserveCapacity(count)
        for _ in 0..<count {
            ids.append(try readID(&r))
            if upsert {
                _ = try readDense(&r, version: version, dimension: dimension, lanes: lanes, skip: true)
                if version >= sparseBodyVersion { try skipSparse(&r) }
                _ = try r.readLengthPrefixed(maxLength: r.remaining)
            }
        }
        try checkEnd(r)
        return (upsert, ids)
    }

    /// Decodes a record body. `dimension` is the collection's; a body with another is refused.
    /// `lanes`: the collection's further dense vectors.
    static func decode(
        type: WALRecordType, body: UnsafeRawBufferPointer, dimension: Int, lanes: [NamedVectorConfig] = []
    ) throws(FormatError) -> Operation {
        var r = ByteReader(body)
        let (upsert, count, version) = try readHeader(type: type, &r, dimension: dimension)
        let operation: Operation
        if upsert {
            var points: [Point] = []
            points.reserveCapacity(count)
            for _ in 0..<count {
                let id = try readID(&r)
                let dense = try readDense(&r, version: version, dimension: dimension, lanes: lanes, skip: false)
                let sparse = version >= sparseBodyVersion ? try readSparse(&r) : [:]
                let payloadBytes = try r.readLengthPrefixed(maxLength: r.remaining)
                var pr = ByteReader(payloadBytes)
                let payload = try PayloadCodec.decodePayload(&pr)
                points.append(Point(id: id, vector: dense.vector, sparse: sparse, named: dense.named, payload: payload))
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

    /// A point's dense vectors: the first (nil: it carries none) and the further ones by name
    /// (both empty when `skip`: the bytes are passed over).
    private static func readDense(
        _ r: inout ByteReader, version: UInt8, dimension: Int, lanes: [NamedVectorConfig], skip: Bool
    ) throws(FormatError) -> (vector: [Float]?, named: [String: [Float]]) {
        guard version >= optionalVectorsBodyVersion else {
            if skip {
                try r.skip(dimension * 4)
                return (nil, [:])
            }
            return (try r.readFloats(count: dimension), [:])
        }
        let at = r.offset
        let count = try r.readVarint()
        guard count <= UInt64(lanes.count + 1) else {
            throw FormatError.invalid(offset: at, reason: "\(count) dense vectors; the collection has \(lanes.count + 1)")
        }
        var vector: [Float]?
        var named: [String: [Float]] = [:]
        var next: UInt64 = 0
        for _ in 0..<count {
            let indexAt = r.offset
            let index = try r.readVarint()
            guard index >= next, index <= UInt64(lanes.count) else {
                throw FormatError.invalid(offset: indexAt, reason: "dense vector index \(index) is out of order or not the collection's")
            }
            next = index + 1
            let multivector = index > 0 && lanes[Int(index) - 1].multivector
            var d = index == 0 ? dimension : lanes[Int(index) - 1].dimension
            if version == multivectorBodyVersion {
                let rowsAt = r.offset
                let rows = try r.readVarint()
                guard rows >= 1, rows == 1 || multivector, rows <= UInt64(r.remaining / max(d * 4, 1)) else {
                    throw FormatError.invalid(offset: rowsAt, reason: "\(rows) vectors under dense vector index \(index)")
                }
                d *= Int(rows)
            }
            if skip {
                try r.skip(d * 4)
            } else if index == 0 {
                vector = try r.readFloats(count: d)
            } else {
                named[lanes[Int(index) - 1].name] = try r.readFloats(count: d)
            }
        }
        return (vector, named)
    }

    /// The version byte, an upsert's dimension, and the count of points or ids, checked
    /// against what the rest of the body can hold. `upsert` false: a delete. Versions 2 and
    /// 3 carry sparse vectors, 3 dense vectors a point may lack.
    private static func readHeader(
        type: WALRecordType, _ r: inout ByteReader, dimension: Int
    ) throws(FormatError) -> (upsert: Bool, count: Int, version: UInt8) {
        let version: UInt8 = try r.read()
        guard version == bodyVersion || (version <= multivectorBodyVersion && type == upsertType) else {
            throw FormatError.invalid(offset: 0, reason: "operation body version \(version) is not supported")
        }
        switch type {
        case upsertType:
            let dim = Int(try r.read(UInt32.self))
            guard dim == dimension else { throw FormatError.invalid(offset: 1, reason: "dimension \(dim) differs from the collection's \(dimension)") }
            let count = try r.readVarint()
            let smallest = version >= optionalVectorsBodyVersion ? 9 + 1 + 1 + 1 : 9 + dim * 4 + 1
            guard count <= UInt64(r.remaining / smallest) else {
                throw FormatError.invalid(offset: r.offset, reason: "point count \(count) exceeds what the body can hold")
            }
            return (true, Int(count), version)
        case deleteType:
            let count = try r.readVarint()
            guard count <= UInt64(r.remaining / 9) else {
                throw FormatError.invalid(offset: r.offset, reason: "id count \(count) exceeds what the body can hold")
            }
            return (false, Int(count), version)
        default:
            throw FormatError.invalid(offset: 0, reason: "unknown operation record type \(type.rawValue)")
        }
    }

    private static func checkEnd(_ r: ByteReader) throws(FormatError) {
        guard r.isAtEnd else { throw FormatError.invalid(offset: r.offset, reason: "trailing bytes after the operation") }
    }
}
