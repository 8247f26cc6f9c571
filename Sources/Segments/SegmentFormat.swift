import HSDBCore
import Index

/// The segment file format, version 4 (a segment of a collection with one dense vector is
/// written as version 3; one whose points all carry it as version 2, and one without sparse
/// vectors too as version 1, byte for byte as before). DESIGN.md, "Segment files", documents
/// every byte.
/// Frozen: changing a value changes the format (bump `formatVersion`).
///
///     header (64 bytes) | section | section | ... | section table | tail (32 bytes)
///
/// Sections start at multiples of 64 bytes (zero padding between), so the arrays in them can
/// be read in place from the mapped file. Opening reads the header, the tail and the table:
/// O(1) bytes, whatever the segment's size.
public enum SegmentFormat {
    public static let magic: [UInt8] = Array("HSDB-SEG".utf8)
    public static let tailMagic: [UInt8] = Array("HSDB-END".utf8)
    public static let formatVersion: UInt16 = 4
    /// Written for segments with one dense vector some points lack (version 3 readers open them).
    public static let optionalVectorsVersion: UInt16 = 3
    /// Written for segments whose points all carry their dense vector (version 2 readers open them).
    public static let sparseVersion: UInt16 = 2
    /// Written for those without sparse vectors too, which version 1 readers open.
    public static let denseOnlyVersion: UInt16 = 1
    public static let headerSize = 64
    public static let tailSize = 32
    public static let tableEntrySize = 24
    public static let alignment = 64
    public static let fileExtension = ".seg"

    /// `<64 lowercase hex digits of the SHA-256 of the file>.seg`.
    public static func fileName(contentID: String) -> String { contentID + fileExtension }

    public static func contentID(fromFileName name: String) -> String? {
        guard name.hasSuffix(fileExtension), name.utf8.count == 64 + fileExtension.utf8.count else { return nil }
        let hex = name.dropLast(fileExtension.count)
        return hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) ? String(hex) : nil
    }
}

/// Section kinds. Frozen raw values.
public enum SectionKind: UInt16, CaseIterable, Sendable, CustomStringConvertible {
    /// Integer ids, ascending, u64 each (ordinals 0..<intCount).
    case integerIDs = 1
    /// UUID ids, ascending bytewise, 16 bytes each (ordinals intCount..<count).
    case uuidIDs = 2
    /// The LSN of each point's version, u64 per ordinal.
    case versions = 3
    /// Full-precision vectors, dimension x f32 per ordinal.
    case vectors = 4
    /// The binary quantizer's per-dimension mean, dimension x f32.
    case quantizerMean = 5
    /// Binary codes, codeWords x u64 per ordinal.
    case codes = 6
    /// HNSW: top level per node, u8.
    case graphLevels = 7
    /// HNSW level 0: (1 + m0) x u32 per node.
    case graphLevel0 = 8
    /// HNSW: index of each node's first upper block, u32 per node (0xFFFFFFFF: none).
    case graphUpperIndex = 9
    /// HNSW upper levels: blocks of (1 + m) x u32.
    case graphUpper = 10
    /// Payload blocks' directory: 32 bytes per block.
    case payloadIndex = 11
    /// Payload blocks, LZ4-compressed or stored.
    case payloadData = 12
    /// Sparse vectors (version 2, all eight or none; SparseSections): their names.
    case sparseNames = 13
    /// Per name, (count + 1) x u64: where each ordinal's entries start.
    case sparseOffsets = 14
    /// The entries' indices, u32 each, ascending within a vector.
    case sparseIndices = 15
    /// The entries' values, f32 each.
    case sparseValues = 16
    /// The inverted index's keys: u64 (name << 32 | index), ascending.
    case sparseTermKeys = 17
    /// (keys + 1) x u64: where each key's postings start.
    case sparseTermStarts = 18
    /// Postings: ordinals, u32 each, ascending within a key.
    case sparsePostingOrdinals = 19
    /// Postings: values, f32 each.
    case sparsePostingValues = 20
    /// Version 3: points without a dense vector, a bitmap of u64 words (bit o of word o / 64
    /// set: ordinal o has none; its vector and code are zeros).
    case absentVectors = 21
    /// Version 4, a further dense vector's sections only (table entries of lane 1 and up): the
    /// lane's own 64-byte header, laid out as the file's (`SegmentHeader`).
    case laneHeader = 22
    /// Version 4, a multivector lane only: (count + 1) x u64, ordinal o's vectors are rows
    /// offsets[o] ..< offsets[o + 1] of the lane's vectors and codes.
    case multivectorOffsets = 23

    /// The kinds a further dense vector (lane 1 and up) has of its own; the others are the
    /// file's (ids, versions, payloads, sparse vectors).
    public static let laneKinds: Set<SectionKind> = [
        .laneHeader, .vectors, .quantizerMean, .codes, .graphLevels, .graphLevel0, .graphUpperIndex, .graphUpper, .absentVectors,
        .multivectorOffsets,
    ]

    public var description: String {
        switch self {
        case .integerIDs: return "integer ids"
        case .uuidIDs: return "uuid ids"
        case .versions: return "versions"
        case .vectors: return "vectors"
        case .quantizerMean: return "quantizer mean"
        case .codes: return "binary codes"
        case .graphLevels: return "graph levels"
        case .graphLevel0: return "graph level 0"
        case .graphUpperIndex: return "graph upper index"
        case .graphUpper: return "graph upper levels"
        case .payloadIndex: return "payload index"
        case .payloadData: return "payload data"
        case .sparseNames: return "sparse names"
        case .sparseOffsets: return "sparse offsets"
        case .sparseIndices: return "sparse indices"
        case .sparseValues: return "sparse values"
        case .sparseTermKeys: return "sparse term keys"
        case .sparseTermStarts: return "sparse term starts"
        case .sparsePostingOrdinals: return "sparse posting ordinals"
        case .sparsePostingValues: return "sparse posting values"
        case .absentVectors: return "absent vectors"
        case .laneHeader: return "lane header"
        case .multivectorOffsets: return "multivector offsets"
        }
    }
}

/// The fixed 64-byte header.
///
///     0 magic "HSDB-SEG" | 8 format version u16 | 10 header size u16 (64) | 12 metric u8 |
///     13 flags u8 (bit 0: has a graph; bit 1, version 2 and up: has sparse vectors; bit 2, version
///     3 and up: some points have no dense vector; bit 3, version 4: further dense vectors;
///     bit 4, version 4, lane headers only: the lane holds multivectors) |
///     14 code words u16 | 16 dimension u32 | 20 count u32 | 24 integer-id count u32 |
///     28 hnsw m u16 | 30 hnsw m0 u16 | 32 entry point u32 | 36 max level u8 |
///     37 further dense vectors u8 (version 4; 0 before) | 38 reserved (2) | 40 min LSN u64 |
///     48 max LSN u64 | 56 rows u32 (a multivector lane: its vectors; else 0) |
///     60 crc u32 = mask(crc32c(bytes 0..<60))
///
/// A further dense vector (lane) has a header of the same layout in its `laneHeader` section:
/// its metric, graph, code words, dimension and absent flag; the count, ids and LSNs as the file's.
public struct SegmentHeader: Sendable, Equatable {
    public var metric: Metric
    public var hasGraph: Bool
    public var codeWords: Int
    public var dimension: Int
    public var count: Int
    public var integerIDCount: Int
    public var m: Int
    public var m0: Int
    public var entryPoint: UInt32
    public var maxLevel: Int
    public var minLSN: UInt64
    public var maxLSN: UInt64
    /// The eight sparse sections are present (format version 2 or 3).
    public var hasSparse = false
    /// Some points carry no dense vector: the absent-vectors section is present (version 3).
    public var hasAbsentVectors = false
    /// Further dense vectors, each with sections of its own (version 4; at most 255).
    public var lanes = 0
    /// A lane header's: the lane holds multivectors, `rows` vectors in all (no graph).
    public var multivector = false
    public var rows = 0

    /// The oldest version that holds what the segment has.
    var formatVersion: UInt16 {
        if lanes > 0 || multivector { return SegmentFormat.formatVersion }
        if hasAbsentVectors { return SegmentFormat.optionalVectorsVersion }
        return hasSparse ? SegmentFormat.sparseVersion : SegmentFormat.denseOnlyVersion
    }

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: SegmentFormat.headerSize)
        w.write(bytes: SegmentFormat.magic)
        w.write(formatVersion)
        w.write(UInt16(SegmentFormat.headerSize))
        w.write(metric.rawValue)
        w.write(UInt8((hasGraph ? 1 : 0) | (hasSparse ? 2 : 0) | (hasAbsentVectors ? 4 : 0) | (lanes > 0 ? 8 : 0) | (multivector ? 16 : 0)))
        w.write(UInt16(codeWords))
        w.write(UInt32(dimension))
        w.write(UInt32(count))
        w.write(UInt32(integerIDCount))
        w.write(UInt16(m))
        w.write(UInt16(m0))
        w.write(entryPoint)
        w.write(UInt8(maxLevel))
        w.write(UInt8(lanes))
        w.append(zeros: 2)
        w.write(minLSN)
        w.write(maxLSN)
        w.write(UInt32(rows))
        w.write(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    /// `fileHeader`: the bytes are the whole file (else a lane header's 64 bytes).
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, fileHeader: Bool = true) throws(CorruptionError) -> SegmentHeader {
        func bad(_ offset: Int, _ reason: String) -> CorruptionError { CorruptionError(file: path, offset: Int64(offset), reason: reason) }
        guard bytes.count >= SegmentFormat.headerSize + (fileHeader ? SegmentFormat.tailSize : 0) else {
            throw bad(0, "file is \(bytes.count) bytes, too short for a segment")
        }
        let stored = bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self).littleEndian
        guard stored == CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))) else {
            throw bad(0, "segment header checksum mismatch")
        }
        guard Array(bytes[0..<8]) == SegmentFormat.magic else { throw bad(0, "not a segment file (bad magic)") }
        func u8(_ o: Int) -> Int { Int(bytes[o]) }
        func u16(_ o: Int) -> Int { Int(bytes.loadUnaligned(fromByteOffset: o, as: UInt16.self).littleEndian) }
        func u32(_ o: Int) -> Int { Int(bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian) }
        func u64(_ o: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian }
        let version = u16(8)
        guard version >= Int(SegmentFormat.denseOnlyVersion) && version <= Int(SegmentFormat.formatVersion) else {
            throw bad(8, "segment format version \(version) is not supported (this build reads 1 to \(SegmentFormat.formatVersion))")
        }
        let knownFlags = version >= 4 ? 0x1F : (1 << version) - 1
        guard u8(13) & ~knownFlags == 0 else { throw bad(13, "unknown header flags \(u8(13)) for format version \(version)") }
        guard u16(10) == SegmentFormat.headerSize else { throw bad(10, "header size \(u16(10)) is not \(SegmentFormat.headerSize)") }
        guard let metric = Metric(rawValue: UInt8(u8(12))) else { throw bad(12, "unknown metric \(u8(12))") }
        let header = SegmentHeader(
            metric: metric, hasGraph: u8(13) & 1 != 0, codeWords: u16(14), dimension: u32(16), count: u32(20),
            integerIDCount: u32(24), m: u16(28), m0: u16(30), entryPoint: UInt32(u32(32)), maxLevel: u8(36),
            minLSN: u64(40), maxLSN: u64(48), hasSparse: u8(13) & 2 != 0, hasAbsentVectors: u8(13) & 4 != 0,
            lanes: version >= 4 ? u8(37) : 0, multivector: u8(13) & 16 != 0, rows: version >= 4 ? u32(56) : 0)
        guard !header.multivector || (!fileHeader && !header.hasGraph) else { throw bad(13, "multivector flag on a file header or with a graph") }
        guard (u8(13) & 8 != 0) == (header.lanes > 0) else { throw bad(37, "further dense vector count \(header.lanes) disagrees with the flags") }
        guard header.dimension >= 1, header.codeWords == BinaryQuantizer.words(forDimension: header.dimension) else {
            throw bad(14, "dimension \(header.dimension) and code words \(header.codeWords) disagree")
        }
        guard header.integerIDCount <= header.count else { throw bad(24, "more integer ids than points") }
        if header.hasGraph {
            guard header.m >= 2, header.m0 >= header.m, header.count > 0, Int(header.entryPoint) < header.count else {
                throw bad(28, "graph parameters are inconsistent")
            }
        }
        return header
    }
}

/// One entry of the section table (24 bytes): kind u16 | lane u16 (0: the file's own; version
/// 4: 1 and up, a further dense vector's) | crc u32 (masked crc32c of the section's bytes) |
/// offset u64 | length u64.
public struct SectionEntry: Sendable, Equatable {
    public var kind: SectionKind
    public var crc: UInt32
    public var offset: Int
    public var length: Int
    public var lane = 0
}

/// The fixed 32-byte tail: table offset u64 | section count u32 | table crc u32 (masked
/// crc32c of the table) | magic "HSDB-END" | reserved u32 | crc u32 = mask(crc32c(bytes 0..<28)).
enum SegmentTail {
    static func encode(tableOffset: Int, sections: Int, tableCRC: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: SegmentFormat.tailSize)
        w.write(UInt64(tableOffset))
        w.write(UInt32(sections))
        w.write(tableCRC)
        w.write(bytes: SegmentFormat.tailMagic)
        w.write(UInt32(0))
        w.write(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    static func encodeTable(_ entries: [SectionEntry]) -> [UInt8] {
        var w = ByteWriter(capacity: entries.count * SegmentFormat.tableEntrySize)
        for e in entries {
            w.write(e.kind.rawValue)
            w.write(UInt16(e.lane))
            w.write(e.crc)
            w.write(UInt64(e.offset))
            w.write(UInt64(e.length))
        }
        return w.bytes
    }

    /// The section table by lane, checked: every section inside the file between header and
    /// table, aligned, each kind at most once per lane, lanes only with their own kinds.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(CorruptionError) -> [Int: [SectionKind: SectionEntry]] {
        let size = bytes.count
        let t = size - SegmentFormat.tailSize
        func bad(_ offset: Int, _ reason: String) -> CorruptionError { CorruptionError(file: path, offset: Int64(offset), reason: reason) }
        let stored = bytes.loadUnaligned(fromByteOffset: t + 28, as: UInt32.self).littleEndian
        guard stored == CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[t..<(t + 28)]))) else {
            throw bad(t, "segment tail checksum mismatch (the file may be truncated)")
        }
        guard Array(bytes[(t + 16)..<(t + 24)]) == SegmentFormat.tailMagic else { throw bad(t + 16, "bad tail magic") }
        let tableOffset = Int(truncatingIfNeeded: bytes.loadUnaligned(fromByteOffset: t, as: UInt64.self).littleEndian)
        let sections = Int(bytes.loadUnaligned(fromByteOffset: t + 8, as: UInt32.self).littleEndian)
        let tableLength = sections * SegmentFormat.tableEntrySize
        guard sections <= SectionKind.allCases.count * 256, tableOffset >= SegmentFormat.headerSize, tableOffset == t - tableLength else {  // no sum: the offset may be huge
            throw bad(t, "section table position is inconsistent with the file size")
        }
        let table = UnsafeRawBufferPointer(rebasing: bytes[tableOffset..<(tableOffset + tableLength)])
        guard bytes.loadUnaligned(fromByteOffset: t + 12, as: UInt32.self).littleEndian == CRC32C.mask(CRC32C.checksum(table)) else {
            throw bad(tableOffset, "section table checksum mismatch")
        }
        var entries: [Int: [SectionKind: SectionEntry]] = [:]
        for i in 0..<sections {
            let o = i * SegmentFormat.tableEntrySize
            let at = tableOffset + o
            let raw = table.loadUnaligned(fromByteOffset: o, as: UInt16.self).littleEndian
            guard let kind = SectionKind(rawValue: raw) else { throw bad(at, "unknown section kind \(raw)") }
            let lane = Int(table.loadUnaligned(fromByteOffset: o + 2, as: UInt16.self).littleEndian)
            guard lane == 0 ? kind != .laneHeader : SectionKind.laneKinds.contains(kind) else {
                throw bad(at, "\(kind) section does not belong to lane \(lane)")
            }
            let offset = Int(truncatingIfNeeded: table.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self).littleEndian)
            let length = Int(truncatingIfNeeded: table.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self).littleEndian)
            guard offset >= SegmentFormat.headerSize, offset % SegmentFormat.alignment == 0, length >= 0,
                  length <= tableOffset - offset else {
                throw bad(at, "\(kind) section lies outside the file's data area")
            }
            guard entries[lane]?[kind] == nil else { throw bad(at, "\(kind) section of lane \(lane) appears twice") }
            entries[lane, default: [:]][kind] = SectionEntry(
                kind: kind, crc: table.loadUnaligned(fromByteOffset: o + 4, as: UInt32.self).littleEndian, offset: offset, length: length,
                lane: lane)
        }
        return entries
    }
}
