import HSDBCore
import Index

/// The `collection.meta` file: a collection's name and configuration, written once at creation
/// (atomically: temporary file, fsync, rename, directory fsync). DESIGN.md, "Collection metadata".
///
///     magic "HSDBCOLL" (8) | format version u16 (1) | name (varint length + UTF-8) |
///     dimension u32 | metric u8 | hnsw m u16 | hnsw ef_construct u32 | created (ms since epoch) u64 |
///     [version 2 and 3: attributes (varint length + payload encoding of a JSON object)] |
///     [version 3 and 4: sparse vector count varint | per sparse vector, by name: name (varint
///      length + UTF-8) | modifier u8 (0 none, 1 idf)] |
///     [version 4: further dense vector count varint | per vector, in lane order: name (varint
///      length + UTF-8) | dimension u32 | metric u8 | hnsw m u16 | hnsw ef_construct u32 |
///      flags u8 (bit 0: a multivector, scored by MaxSim)] |
///     crc u32 = mask(crc32c(all bytes before it))
///
/// Version 4 is written only for a collection with further dense vectors, version 3 only for
/// one with sparse vectors (others stay byte for byte as version 2); version 1 files (no
/// attributes) are still read.
package enum CollectionMetadata {
    package static let fileName = "collection.meta"
    static let magic: [UInt8] = Array("HSDBCOLL".utf8)
    static let formatVersion: UInt16 = 4
    static let sparseVersion: UInt16 = 3
    static let denseOnlyVersion: UInt16 = 2

    package static func encode(name: String, config: CollectionConfig, createdMilliseconds: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(bytes: magic)
        let version = !config.namedVectors.isEmpty ? formatVersion : !config.sparseVectors.isEmpty ? sparseVersion : denseOnlyVersion
        w.write(version)
        w.writeString(name)
        w.write(UInt32(config.dimension))
        w.write(config.metric.rawValue)
        w.write(UInt16(config.hnswM))
        w.write(UInt32(config.hnswEfConstruction))
        w.write(createdMilliseconds)
        let attributes = PayloadCodec.encode(config.attributes)
        w.writeVarint(UInt64(attributes.count))
        w.write(bytes: attributes)
        if version >= sparseVersion {
            w.writeVarint(UInt64(config.sparseVectors.count))
            for (name, parameters) in config.sparseVectors.sorted(by: { $0.key < $1.key }) {
                w.writeString(name)
                w.write(parameters.modifier.rawValue)
            }
        }
        if version >= formatVersion {
            w.writeVarint(UInt64(config.namedVectors.count))
            for v in config.namedVectors {
                w.writeString(v.name)
                w.write(UInt32(v.dimension))
                w.write(v.metric.rawValue)
                w.write(UInt16(v.hnswM))
                w.write(UInt32(v.hnswEfConstruction))
                w.write(UInt8(v.multivector ? 1 : 0))
            }
        }
        w.write(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> (name: String, config: CollectionConfig, created: UInt64) {
        func corrupt(_ offset: Int, _ reason: String) -> HSDBError {
            .corruption(CorruptionError(file: path, offset: Int64(offset), reason: reason))
        }
        guard bytes.count >= 14 else { throw corrupt(0, "file is \(bytes.count) bytes, too short for collection metadata") }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self).littleEndian }
        guard CRC32C.mask(CRC32C.checksum(Array(bytes[..<(bytes.count - 4)]))) == stored else {
            throw corrupt(bytes.count - 4, "collection metadata checksum mismatch")
        }
        guard Array(bytes[0..<8]) == magic else { throw corrupt(0, "bad magic: not collection metadata") }
        return try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, offset: 8)
            do {
                let version: UInt16 = try r.read()
                guard (1...formatVersion).contains(version) else { throw corrupt(8, "metadata format version \(version) is not supported") }
                let name = try r.readString(maxLength: Validation.maxNameBytes)
                let dimension = Int(try r.read(UInt32.self))
                let metricOffset = r.offset
                guard let metric = Metric(rawValue: try r.read(UInt8.self)) else { throw corrupt(metricOffset, "unknown metric") }
                let m = Int(try r.read(UInt16.self))
                let ef = Int(try r.read(UInt32.self))
                let created = try r.read(UInt64.self)
                var attributes: Payload = [:]
                if version >= 2 {
                    let length = Int(try r.readVarint())
                    let start = r.offset
                    guard length <= bytes.count - 4 - start else { throw corrupt(start, "attributes length \(length) runs past the file") }
                    var inner = ByteReader(UnsafeRawBufferPointer(rebasing: raw[..<(start + length)]), offset: start)
                    guard case .object(let o) = try PayloadCodec.decodeValue(&inner) else { throw corrupt(start, "attributes are not an object") }
                    attributes = o
                    r = ByteReader(raw, offset: start + length)
                }
                var sparse: [String: SparseVectorParameters] = [:]
                if version >= 3 {
                    let count = try r.readVarint()
                    guard count <= UInt64(bytes.count) else { throw corrupt(r.offset, "sparse vector count \(count) runs past the file") }
                    for _ in 0..<count {
                        let sparseName = try r.readString(maxLength: Validation.maxNameBytes)
                        let at = r.offset
                        guard let modifier = SparseVectorParameters.Modifier(rawValue: try r.read(UInt8.self)) else {
                            throw corrupt(at, "unknown sparse vector modifier")
                        }
                        sparse[sparseName] = SparseVectorParameters(modifier: modifier)
                    }
                }
                let named = version >= 4 ? try decodeNamedVectors(&r, bytes.count, corrupt) : []
                guard r.offset == bytes.count - 4 else { throw corrupt(r.offset, "trailing bytes after the collection metadata") }
                return (name, CollectionConfig(
                    dimension: dimension, metric: metric, hnswM: m, hnswEfConstruction: ef, sparseVectors: sparse,
                    namedVectors: named, attributes: attributes), created)
            } catch let e as FormatError {
                throw corrupt(e.offset, e.description)
            }
        }
    }

    private static func decodeNamedVectors(
        _ r: inout ByteReader, _ size: Int, _ corrupt: (Int, String) -> HSDBError
    ) throws -> [NamedVectorConfig] {
        let count = try r.readVarint()
        guard count <= UInt64(size) else { throw corrupt(r.offset, "dense vector count \(count) runs past the file") }
        var named: [NamedVectorConfig] = []
        for _ in 0..<count {
            let name = try r.readString(maxLength: Validation.maxNameBytes)
            let dimension = Int(try r.read(UInt32.self))
            let at = r.offset
            guard let metric = Metric(rawValue: try r.read(UInt8.self)) else { throw corrupt(at, "unknown metric of vector '\(name)'") }
            let m = Int(try r.read(UInt16.self))
            let ef = Int(try r.read(UInt32.self))
            let flagsAt = r.offset
            let flags = try r.read(UInt8.self)
            guard flags & ~1 == 0 else { throw corrupt(flagsAt, "unknown flags \(flags) of vector '\(name)'") }
            named.append(NamedVectorConfig(
                name: name, dimension: dimension, metric: metric, hnswM: m, hnswEfConstruction: ef, multivector: flags & 1 != 0))
        }
        return named
    }
}
