import Compression
import Crypto
import Foundation
import HSDBCore
import Index

#if !_endian(little)
#error("segment files are little-endian and read in place: a big-endian host needs byte swapping")
#endif

/// An open, immutable segment file, mapped read-only. Opening checks the header, tail and
/// section table (their CRCs and that every section has exactly the size the header implies)
/// and reads nothing else, so it costs the same for any size. After that every access is in
/// bounds whatever the bytes say. Section CRCs are checked by `verifySections()` (the engine
/// does at every open), the content hash by `verifyContentHash()` (in the background after
/// open, and by `hsdb verify`); payload blocks are checked again on every read.
public final class Segment: Sendable {
    public let path: String
    public let contentID: String
    public let header: SegmentHeader
    let region: MappedRegion
    let sections: [SectionKind: SectionEntry]
    /// The names of the sparse vectors its points may have (ascending; empty: none).
    public let sparseNames: [String]
    /// The further dense vectors (lanes 1...), each seen as a segment of its own: its header,
    /// vectors, codes and graph, with the file's ids, versions and payloads. Empty in a lane.
    public let lanes: [Segment]
    /// Every section of the file, every lane's included (what `verifySections` checks).
    private let allSections: [SectionEntry]

    public var count: Int { header.count }

    /// Lane `l` (0: this segment's own dense vector).
    public func lane(_ l: Int) -> Segment { l == 0 ? self : lanes[l - 1] }
    public var dimension: Int { header.dimension }
    public var metric: Metric { header.metric }
    public var bytes: Int { region.count }

    public static func open(path: String, fileSystem fs: any FileSystem) throws -> Segment {
        let name = lastPathComponent(path)
        guard let contentID = SegmentFormat.contentID(fromFileName: name) else {
            throw CorruptionError(file: path, offset: 0, reason: "not a segment file name (expected <sha256 hex>.seg)")
        }
        let region = try fs.mapReadOnly(path)
        return try region.withBytes { bytes in
            let header = try SegmentHeader.decode(bytes, path: path)
            let table = try SegmentTail.decode(bytes, path: path)
            let sections = table[0] ?? [:]
            try checkSizes(header, sections, path: path)
            // Read when the segment is opened or first searched, so checked at open (a bit per point).
            if let e = sections[.absentVectors] { try checkCRC(e, bytes, path: path) }
            var sparseNames: [String] = []
            if header.hasSparse, let e = sections[.sparseNames] {
                try checkCRC(e, bytes, path: path)  // read at open, so checked at open (it is a few bytes)
                sparseNames = try SparseSections.decodeNames(
                    UnsafeRawBufferPointer(rebasing: bytes[e.offset..<(e.offset + e.length)]), offset: e.offset, path: path)
                try checkSparseSizes(header, sections, names: sparseNames.count, path: path)
            }
            if let extra = table.keys.first(where: { $0 > header.lanes }) {
                throw CorruptionError(file: path, offset: 0, reason: "sections of lane \(extra), but the header has \(header.lanes) lanes")
            }
            let lanes = try (0..<header.lanes).map { l throws(CorruptionError) in
                let (laneHeader, laneSections) = try lane(l + 1, of: header, table[l + 1] ?? [:], base: sections, bytes, path: path)
                return Segment(
                    path: path, contentID: contentID, header: laneHeader, region: region, sections: laneSections,
                    sparseNames: [], lanes: [], allSections: [])
            }
            return Segment(
                path: path, contentID: contentID, header: header, region: region, sections: sections, sparseNames: sparseNames,
                lanes: lanes, allSections: table.values.flatMap(\.values))
        }
    }

    /// A further dense vector's header and sections (the file's ids, versions and payloads, its
    /// own vectors, codes, graph and absent bitmap), checked as the file's own are.
    private static func lane(
        _ l: Int, of file: SegmentHeader, _ own: [SectionKind: SectionEntry], base: [SectionKind: SectionEntry],
        _ bytes: UnsafeRawBufferPointer, path: String
    ) throws(CorruptionError) -> (SegmentHeader, [SectionKind: SectionEntry]) {
        guard let e = own[.laneHeader], e.length == SegmentFormat.headerSize else {
            throw CorruptionError(file: path, offset: 0, reason: "lane \(l) has no lane header section of 64 bytes")
        }
        try checkCRC(e, bytes, path: path)
        let header: SegmentHeader
        do {
            header = try SegmentHeader.decode(
                UnsafeRawBufferPointer(rebasing: bytes[e.offset..<(e.offset + e.length)]), path: path, fileHeader: false)
        } catch {
            throw CorruptionError(file: path, offset: Int64(e.offset) + error.offset, reason: "lane \(l) header: \(error.reason)")
        }
        guard header.count == file.count, header.integerIDCount == file.integerIDCount, header.lanes == 0, !header.hasSparse else {
            throw CorruptionError(file: path, offset: Int64(e.offset), reason: "lane \(l) header disagrees with the file's")
        }
        var sections = base.filter { !SectionKind.laneKinds.contains($0.key) }
        for (kind, entry) in own where kind != .laneHeader { sections[kind] = entry }
        try checkSizes(header, sections, path: path)
        if let a = own[.absentVectors] { try checkCRC(a, bytes, path: path) }
        return (header, sections)
    }

    private static func checkCRC(_ e: SectionEntry, _ bytes: UnsafeRawBufferPointer, path: String) throws(CorruptionError) {
        guard CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[e.offset..<(e.offset + e.length)]))) == e.crc else {
            throw CorruptionError(file: path, offset: Int64(e.offset), reason: "\(e.kind) section checksum mismatch")
        }
    }

    private init(
        path: String, contentID: String, header: SegmentHeader, region: MappedRegion, sections: [SectionKind: SectionEntry],
        sparseNames: [String], lanes: [Segment], allSections: [SectionEntry]
    ) {
        self.path = path
        self.contentID = contentID
        self.header = header
        self.region = region
        self.sections = sections
        self.sparseNames = sparseNames
        self.lanes = lanes
        self.allSections = allSections
    }

    /// With sparse vectors, all eight sections, their sizes consistent with each other.
    private static func checkSparseSizes(
        _ h: SegmentHeader, _ s: [SectionKind: SectionEntry], names: Int, path: String
    ) throws(CorruptionError) {
        func length(_ kind: SectionKind) -> Int { s[kind]!.length }
        func bad(_ kind: SectionKind, _ reason: String) -> CorruptionError {
            CorruptionError(file: path, offset: Int64(s[kind]!.offset), reason: "the \(kind) section \(reason)")
        }
        guard length(.sparseOffsets) == names * (h.count + 1) * 8 else { throw bad(.sparseOffsets, "does not hold \(names) x \(h.count + 1) offsets") }
        let entries = length(.sparseIndices) / 4
        guard length(.sparseIndices) % 4 == 0, length(.sparseValues) == entries * 4 else { throw bad(.sparseValues, "does not match the indices") }
        guard length(.sparsePostingOrdinals) == entries * 4, length(.sparsePostingValues) == entries * 4 else {
            throw bad(.sparsePostingOrdinals, "does not hold one posting per entry")
        }
        guard length(.sparseTermKeys) % 8 == 0, length(.sparseTermStarts) == (length(.sparseTermKeys) / 8 + 1) * 8 else {
            throw bad(.sparseTermStarts, "does not hold one start per key and an end")
        }
    }

    /// Every section the header implies must be there with exactly its size.
    private static func checkSizes(_ h: SegmentHeader, _ s: [SectionKind: SectionEntry], path: String) throws(CorruptionError) {
        let vectors = h.multivector ? h.rows : h.count
        var expected: [(SectionKind, Int?)] = [
            (.integerIDs, h.integerIDCount * 8), (.uuidIDs, (h.count - h.integerIDCount) * 16), (.versions, h.count * 8),
            (.vectors, vectors * h.dimension * 4), (.quantizerMean, h.dimension * 4), (.codes, vectors * h.codeWords * 8),
            (.payloadIndex, nil), (.payloadData, nil),
        ]
        if h.multivector { expected.append((.multivectorOffsets, (h.count + 1) * 8)) }
        if h.hasGraph {
            expected += [
                (.graphLevels, h.count), (.graphLevel0, h.count * (h.m0 + 1) * 4), (.graphUpperIndex, h.count * 4), (.graphUpper, nil),
            ]
        }
        if h.hasSparse { expected += SparseSections.kinds.map { ($0, nil) } }
        if h.hasAbsentVectors { expected.append((.absentVectors, (h.count + 63) / 64 * 8)) }
        for (kind, size) in expected {
            guard let entry = s[kind] else {
                throw CorruptionError(file: path, offset: 0, reason: "the \(kind) section is missing")
            }
            if let size, entry.length != size {
                throw CorruptionError(file: path, offset: Int64(entry.offset), reason: "the \(kind) section is \(entry.length) bytes, expected \(size)")
            }
        }
        if h.hasGraph, s[.graphUpper]!.length % ((h.m + 1) * 4) != 0 {
            throw CorruptionError(file: path, offset: Int64(s[.graphUpper]!.offset), reason: "graph upper section is not whole blocks")
        }
        if s[.payloadIndex]!.length % PayloadBlocks.entrySize != 0 {
            throw CorruptionError(file: path, offset: Int64(s[.payloadIndex]!.offset), reason: "payload index is not whole entries")
        }
    }

    /// The bytes of a section. Valid while `self` is alive.
    func section(_ kind: SectionKind) -> UnsafeRawBufferPointer {
        guard let e = sections[kind] else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: region.bytes[e.offset..<(e.offset + e.length)])
    }

    // MARK: Points

    public func id(at ordinal: Int) -> PointID {
        precondition(ordinal >= 0 && ordinal < count)
        if ordinal < header.integerIDCount {
            return .integer(section(.integerIDs).loadUnaligned(fromByteOffset: ordinal * 8, as: UInt64.self).littleEndian)
        }
        let raw = section(.uuidIDs).loadUnaligned(fromByteOffset: (ordinal - header.integerIDCount) * 16, as: uuid_t.self)
        return .uuid(UUID(uuid: raw))
    }

    /// The ordinal of `id`, by binary search over the sorted ids, or nil.
    public func ordinal(of id: PointID) -> Int? {
        var low: Int, high: Int
        switch id {
        case .integer: (low, high) = (0, header.integerIDCount)
        case .uuid: (low, high) = (header.integerIDCount, count)
        }
        while low < high {
            let mid = (low + high) / 2
            let candidate = self.id(at: mid)
            if candidate == id { return mid }
            if candidate < id { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// The first ordinal whose id is at or after `id` (`count` if none): where a scroll from
    /// `id` starts.
    public func lowerBound(_ id: PointID) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if self.id(at: mid) < id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    public func version(at ordinal: Int) -> UInt64 {
        precondition(ordinal >= 0 && ordinal < count)
        return section(.versions).loadUnaligned(fromByteOffset: ordinal * 8, as: UInt64.self).littleEndian
    }

    /// Calls `body` with the vector of `ordinal`, read in place.
    public func withVector<R>(at ordinal: Int, _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(ordinal >= 0 && ordinal < count)
        return try withExtendedLifetime(region) {
            let base = section(.vectors).baseAddress!.assumingMemoryBound(to: Float.self)
            return try body(UnsafeBufferPointer(start: base + ordinal * dimension, count: dimension))
        }
    }

    // MARK: Sparse vectors

    /// The sparse vector `sparseNames[name]` of `ordinal`, if it has one. Offsets are clamped
    /// to the entries, so damaged bytes give wrong values, never an access out of bounds.
    public func sparse(at ordinal: Int, name: Int) -> SparseVector? {
        precondition(ordinal >= 0 && ordinal < count && name >= 0 && name < sparseNames.count)
        return withExtendedLifetime(region) {
            let offsets = section(.sparseOffsets)
            let entries = section(.sparseIndices).count / 4
            let at = (name * (count + 1) + ordinal) * 8
            let start = min(Self.clampedOffset(offsets.loadUnaligned(fromByteOffset: at, as: UInt64.self)), entries)
            let end = min(max(Self.clampedOffset(offsets.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self)), start), entries)
            guard end > start else { return nil }
            let indices = section(.sparseIndices), values = section(.sparseValues)
            return SparseVector(
                indices: (start..<end).map { indices.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian },
                values: (start..<end).map { values.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) })
        }
    }

    /// A stored u64 offset as an Int in 0...Int.max (a damaged one must not turn negative).
    private static func clampedOffset(_ raw: UInt64) -> Int { Int(clamping: UInt64(littleEndian: raw)) }

    /// Every sparse vector of `ordinal`, by name.
    public func sparseVectors(at ordinal: Int) -> [String: SparseVector] {
        var out: [String: SparseVector] = [:]
        for (n, name) in sparseNames.enumerated() { if let v = sparse(at: ordinal, name: n) { out[name] = v } }
        return out
    }

    /// How many points hold index `term` in sparse vector `sparseNames[name]` (live or not).
    public func postingCount(name: Int, term: UInt32) -> Int {
        withPostingRange(name: name, term: term) { $1 - $0 }
    }

    /// Calls `body` with each posting (ordinal, value) of index `term` in sparse vector
    /// `sparseNames[name]`, ordinals ascending. Ordinals past the segment are skipped.
    public func forEachPosting(name: Int, term: UInt32, _ body: (Int, Float) -> Void) {
        withPostingRange(name: name, term: term) { start, end in
            let ordinals = section(.sparsePostingOrdinals), values = section(.sparsePostingValues)
            for p in start..<end {
                let o = Int(ordinals.loadUnaligned(fromByteOffset: p * 4, as: UInt32.self).littleEndian)
                if o < count { body(o, values.loadUnaligned(fromByteOffset: p * 4, as: Float.self)) }
            }
        }
    }

    /// Calls `body` with the postings of index `term` in sparse vector `sparseNames[name]` as
    /// read in place: ordinals (ascending; a damaged file may hold ordinals past the segment,
    /// which the caller must skip) and values, of equal length.
    public func withPostings<R>(name: Int, term: UInt32, _ body: (UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<Float>) -> R) -> R {
        withPostingRange(name: name, term: term) { start, end in
            guard end > start else { return body(UnsafeBufferPointer(start: nil, count: 0), UnsafeBufferPointer(start: nil, count: 0)) }
            // Sections are aligned and the file little-endian, as every platform Swift runs
            // hsdb on: the bytes are the values.
            #if _endian(big)
            #error("segment files are little-endian: read postings through loadUnaligned on big-endian hosts")
            #endif
            let ordinals = section(.sparsePostingOrdinals).baseAddress!.assumingMemoryBound(to: UInt32.self)
            let values = section(.sparsePostingValues).baseAddress!.assumingMemoryBound(to: Float.self)
            return body(UnsafeBufferPointer(start: ordinals + start, count: end - start), UnsafeBufferPointer(start: values + start, count: end - start))
        }
    }

    /// The postings of (name, term), as a range of posting positions (empty if none), found
    /// by binary search over the term keys and clamped to the postings.
    private func withPostingRange<R>(name: Int, term: UInt32, _ body: (Int, Int) -> R) -> R {
        withExtendedLifetime(region) {
            let keys = section(.sparseTermKeys)
            let key = UInt64(name) << 32 | UInt64(term)
            var low = 0, high = keys.count / 8
            while low < high {
                let mid = (low + high) / 2
                if keys.loadUnaligned(fromByteOffset: mid * 8, as: UInt64.self).littleEndian < key { low = mid + 1 } else { high = mid }
            }
            guard low < keys.count / 8, keys.loadUnaligned(fromByteOffset: low * 8, as: UInt64.self).littleEndian == key else { return body(0, 0) }
            let starts = section(.sparseTermStarts)
            let postings = section(.sparsePostingOrdinals).count / 4
            let start = min(Self.clampedOffset(starts.loadUnaligned(fromByteOffset: low * 8, as: UInt64.self)), postings)
            let end = min(max(Self.clampedOffset(starts.loadUnaligned(fromByteOffset: low * 8 + 8, as: UInt64.self)), start), postings)
            return body(start, end)
        }
    }

    /// The whole file as mapped (a backup keeps it readable after the file is retired).
    public var mappedFile: MappedRegion { region }

    /// Calls `body` with the whole file as mapped (snapshots copy segments byte for byte).
    public func withFileBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try region.withBytes(body)
    }

    public func vector(at ordinal: Int) -> [Float] { withVector(at: ordinal) { Array($0) } }

    /// Calls `body` with the vectors of `ordinal` in a multivector lane (one after another,
    /// read in place; empty when it has none). Offsets are clamped to the rows, so damaged
    /// bytes give wrong values, never an access out of bounds.
    public func withMultivector<R>(at ordinal: Int, _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(header.multivector && ordinal >= 0 && ordinal < count)
        let rows = multivectorRows(at: ordinal)
        return try withExtendedLifetime(region) {
            let base = section(.vectors).baseAddress.map { $0.assumingMemoryBound(to: Float.self) + rows.lowerBound * dimension }
            return try body(UnsafeBufferPointer(start: rows.isEmpty ? nil : base, count: rows.count * dimension))
        }
    }

    /// The rows (of the lane's vectors and codes) holding `ordinal`'s vectors in a multivector
    /// lane, clamped to the rows.
    public func multivectorRows(at ordinal: Int) -> Range<Int> {
        precondition(header.multivector && ordinal >= 0 && ordinal < count)
        return withExtendedLifetime(region) {
            let offsets = section(.multivectorOffsets)
            let start = min(Self.clampedOffset(offsets.loadUnaligned(fromByteOffset: ordinal * 8, as: UInt64.self)), header.rows)
            let end = min(max(Self.clampedOffset(offsets.loadUnaligned(fromByteOffset: ordinal * 8 + 8, as: UInt64.self)), start), header.rows)
            return start..<end
        }
    }

    /// The vectors of `ordinal` in a multivector lane, one after another; nil when it has none.
    public func multivector(at ordinal: Int) -> [Float]? {
        guard hasVector(at: ordinal) else { return nil }
        return withMultivector(at: ordinal) { $0.isEmpty ? nil : Array($0) }
    }

    /// Whether `ordinal` carries a dense vector (in a version 3 segment some may not).
    public func hasVector(at ordinal: Int) -> Bool {
        precondition(ordinal >= 0 && ordinal < count)
        guard header.hasAbsentVectors else { return true }
        return withExtendedLifetime(region) {
            section(.absentVectors).loadUnaligned(fromByteOffset: (ordinal >> 6) * 8, as: UInt64.self).littleEndian >> UInt64(ordinal & 63) & 1 == 0
        }
    }

    /// Bit o set when ordinal o carries a dense vector, one u64 per 64 ordinals (bits past
    /// `count` clear); nil when every point does.
    public func presentVectors() -> [UInt64]? {
        guard header.hasAbsentVectors else { return nil }
        return withExtendedLifetime(region) {
            let absent = section(.absentVectors)
            var words = (0..<(count + 63) / 64).map { ~absent.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self).littleEndian }
            if count % 64 != 0 { words[words.count - 1] &= (1 << UInt64(count % 64)) - 1 }
            return words
        }
    }

    /// The payload of `ordinal`, decoded. Its block's CRC is checked first.
    public func payload(at ordinal: Int) throws -> Payload {
        precondition(ordinal >= 0 && ordinal < count)
        return try withExtendedLifetime(region) { try decodePayload(try payloadBytes(at: ordinal), of: ordinal) }
    }

    /// The payload of `ordinal` from its block, read before with `payloadBlock(holding:)`.
    public func payload(at ordinal: Int, in block: PayloadBlock) throws -> Payload {
        precondition(block.holds(ordinal))
        return try decodePayload(block[ordinal], of: ordinal)
    }

    private func decodePayload(_ bytes: [UInt8], of ordinal: Int) throws -> Payload {
        do {
            return try PayloadCodec.decodePayload(bytes)
        } catch {
            throw CorruptionError(file: path, offset: Int64(sections[.payloadData]!.offset), reason: "payload of ordinal \(ordinal): \(error)")
        }
    }

    /// Calls `body` with every ordinal's payload, in order, decompressing each block once
    /// (a filter's scan over the whole segment).
    public func forEachPayload(_ body: (Int, Payload) throws -> Void) throws {
        try forEachPayload(only: nil, body)
    }

    /// Calls `body` with the payloads of `ordinals` (ascending), decompressing only the blocks
    /// that hold them, each once.
    public func forEachPayload(of ordinals: [Int], _ body: (Int, Payload) throws -> Void) throws {
        guard !ordinals.isEmpty else { return }
        try forEachPayload(only: ordinals, body)
    }

    /// The block walk behind both: every ordinal when `only` is nil.
    private func forEachPayload(only ordinals: [Int]?, _ body: (Int, Payload) throws -> Void) throws {
        try withExtendedLifetime(region) {
            let index = section(.payloadIndex)
            var next = 0
            for b in 0..<(index.count / PayloadBlocks.entrySize) {
                let e = PayloadBlocks.entry(index, b)
                if let ordinals {
                    guard next < ordinals.count else { return }
                    guard ordinals[next] < e.first + e.count else { continue }
                }
                let raw = try decodedBlock(e, entryOffset: Int64(sections[.payloadIndex]!.offset + b * PayloadBlocks.entrySize))
                let blockOffset = Int64(sections[.payloadData]!.offset + e.offset)
                try raw.withUnsafeBytes { r in
                    var reader = ByteReader(r)
                    for ordinal in e.first..<min(e.first + e.count, count) {
                        let payload: Payload
                        do {
                            let bytes = try reader.readLengthPrefixed(maxLength: reader.remaining)
                            if let ordinals {
                                guard next < ordinals.count, ordinals[next] == ordinal else { continue }
                                next += 1
                            }
                            var pr = ByteReader(bytes)
                            payload = try PayloadCodec.decodePayload(&pr)
                        } catch {
                            throw CorruptionError(file: path, offset: blockOffset, reason: "payload of ordinal \(ordinal): \(error)")
                        }
                        try body(ordinal, payload)
                    }
                }
            }
        }
    }

    /// A payload block's raw bytes, its CRC checked.
    func decodedBlock(_ e: PayloadBlocks.Entry, entryOffset: Int64) throws -> [UInt8] {
        let data = section(.payloadData)
        guard e.first >= 0, e.count >= 0, e.offset >= 0, e.storedLength <= data.count, e.offset <= data.count - e.storedLength else {
            throw CorruptionError(file: path, offset: entryOffset, reason: "payload block entry is inconsistent")
        }
        let stored = UnsafeRawBufferPointer(rebasing: data[e.offset..<(e.offset + e.storedLength)])
        let blockOffset = Int64(sections[.payloadData]!.offset + e.offset)
        guard CRC32C.mask(CRC32C.checksum(stored)) == e.crc else {
            throw CorruptionError(file: path, offset: blockOffset, reason: "payload block checksum mismatch")
        }
        guard e.flags & PayloadBlocks.lz4Flag != 0 else { return Array(stored) }
        do { return try LZ4.decompress(stored, originalSize: e.rawLength) } catch {
            throw CorruptionError(file: path, offset: blockOffset, reason: "payload block: \(error)")
        }
    }

    /// The payload of `ordinal` as stored (its `PayloadCodec` bytes), block CRC checked.
    public func payloadBytes(at ordinal: Int) throws -> [UInt8] {
        try withPayloadBlock(holding: ordinal) { first, _, reader in
            for _ in first..<ordinal { _ = try reader.readLengthPrefixed(maxLength: reader.remaining) }
            return Array(try reader.readLengthPrefixed(maxLength: reader.remaining))
        }
    }

    /// Every stored payload of the block holding `ordinal`, for a reader that goes through
    /// them in ordinal order (a merge): one decompression per block instead of one per point.
    public func payloadBlock(holding ordinal: Int) throws -> PayloadBlock {
        try withPayloadBlock(holding: ordinal) { first, count, reader in
            PayloadBlock(first: first, payloads: try (0..<count).map { _ in Array(try reader.readLengthPrefixed(maxLength: reader.remaining)) })
        }
    }

    /// Finds the block holding `ordinal`, checks and decompresses it, and reads it with
    /// `body` (given the block's first ordinal and count); a malformed block names its offset.
    private func withPayloadBlock<R>(holding ordinal: Int, _ body: (Int, Int, inout ByteReader) throws -> R) throws -> R {
        let index = section(.payloadIndex)
        let indexOffset = sections[.payloadIndex]!.offset
        let blocks = index.count / PayloadBlocks.entrySize
        var low = 0, high = blocks
        while low < high {  // the last block whose first ordinal is <= ordinal
            let mid = (low + high) / 2
            if PayloadBlocks.entry(index, mid).first <= ordinal { low = mid + 1 } else { high = mid }
        }
        let at = Int64(indexOffset + max(low - 1, 0) * PayloadBlocks.entrySize)
        guard low > 0 else { throw CorruptionError(file: path, offset: at, reason: "no payload block holds ordinal \(ordinal)") }
        let e = PayloadBlocks.entry(index, low - 1)
        guard ordinal < e.first + e.count else {
            throw CorruptionError(file: path, offset: at, reason: "payload block entry is inconsistent")
        }
        let raw = try decodedBlock(e, entryOffset: at)
        let blockOffset = Int64(sections[.payloadData]!.offset + e.offset)
        return try raw.withUnsafeBytes { r in
            var reader = ByteReader(r)
            do {
                return try body(e.first, e.count, &reader)
            } catch {
                throw CorruptionError(file: path, offset: blockOffset, reason: "payload block is malformed: \(error)")
            }
        }
    }

    // MARK: Index

    /// The mean the segment's codes are centred on (its quantizer).
    public var quantizerMean: [Float] {
        withExtendedLifetime(region) {
            Array(UnsafeBufferPointer(start: section(.quantizerMean).baseAddress!.assumingMemoryBound(to: Float.self), count: dimension))
        }
    }

    /// Calls `body` with views of the vectors, codes and graph, read in place.
    public func withIndex<R>(_ body: (SegmentIndex) throws -> R) rethrows -> R {
        try withExtendedLifetime(region) {
            let vectors = FloatVectors(
                base: section(.vectors).baseAddress!.assumingMemoryBound(to: Float.self), dimension: dimension, metric: metric)
            let codes = BinaryCodes(base: section(.codes).baseAddress!.assumingMemoryBound(to: UInt64.self), words: header.codeWords)
            var graph: HNSWGraph?
            if header.hasGraph {
                let upperBytes = section(.graphUpper)
                graph = HNSWGraph(
                    count: count, m: header.m, m0: header.m0, entryPoint: header.entryPoint, maxLevel: header.maxLevel,
                    upperBlockCount: upperBytes.count / ((header.m + 1) * 4),
                    levels: section(.graphLevels).baseAddress!.assumingMemoryBound(to: UInt8.self),
                    level0: section(.graphLevel0).baseAddress!.assumingMemoryBound(to: UInt32.self),
                    upperIndex: section(.graphUpperIndex).baseAddress!.assumingMemoryBound(to: UInt32.self),
                    upper: upperBytes.baseAddress.map { $0.assumingMemoryBound(to: UInt32.self) } ?? UnsafePointer(bitPattern: 4)!)
            }
            return try body(SegmentIndex(vectors: vectors, codes: codes, graph: graph))
        }
    }

    // MARK: Verification

    /// Checks every section's CRC, then the SHA-256 of the whole file against the content id
    /// in its name. Throws at the first problem, naming the file and the section's offset.
    public func verify() throws(CorruptionError) {
        try verifySections()
        try verifyContentHash()
    }

    /// Checks every section's CRC (CRC32C runs at ~10 GB/s, so the engine does this at every
    /// open: a flipped bit in a vector, code or graph is refused before it can be served).
    public func verifySections() throws(CorruptionError) {
        let result = region.withBytes { bytes -> CorruptionError? in
            for entry in allSections.sorted(by: { $0.offset < $1.offset }) {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[entry.offset..<(entry.offset + entry.length)])
                guard CRC32C.mask(CRC32C.checksum(raw)) == entry.crc else {
                    return CorruptionError(file: path, offset: Int64(entry.offset), reason: "\(entry.kind) section checksum mismatch")
                }
            }
            return nil
        }
        if let result { throw result }
    }

    /// Checks the SHA-256 of the whole file (every byte, padding included) against the content
    /// id in its name.
    public func verifyContentHash() throws(CorruptionError) {
        let digest = region.withBytes { SHA256.hash(data: $0).lowercaseHex }
        guard digest == contentID else {
            throw CorruptionError(file: path, offset: 0, reason: "content hash \(digest) does not match the file name")
        }
    }
}

/// In-place views of a segment's index data, valid inside `Segment.withIndex` (the codes'
/// quantizer: `quantizerMean`, read once by whoever keeps the segment).
public struct SegmentIndex {
    public let vectors: FloatVectors
    public let codes: BinaryCodes
    public let graph: HNSWGraph?
}
