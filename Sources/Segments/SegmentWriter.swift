import Crypto
import Foundation
import HSDBCore
import Index

/// Writes a segment file: quantizes the vectors, builds the graph, packs the payloads, and
/// publishes the file under its content id (write a temporary file, fsync, rename, fsync the
/// directory). Blocking and CPU-heavy: run it off the cooperative pool.
public enum SegmentWriter {
    public enum Failure: Error, CustomStringConvertible {
        case unsortedIDs(ordinal: Int)
        case emptySegment
        case stopped

        public var description: String {
            switch self {
            case .unsortedIDs(let o): return "segment input ids are not strictly ascending at ordinal \(o)"
            case .emptySegment: return "a segment must hold at least one point"
            case .stopped: return "the segment write was stopped (its collection is closing); its inputs are unchanged"
            }
        }
    }

    /// `stop`: raised, the write gives up before publishing anything (checked through the
    /// graph build, the long part).
    public static func write(
        _ source: some SegmentSource, options: SegmentIndexOptions, directory: String, fileSystem fs: any FileSystem,
        stop: StopFlag? = nil
    ) throws -> SegmentInfo {
        let count = source.count, dimension = source.dimension
        guard count > 0 else { throw Failure.emptySegment }
        // Ids, split by kind, checked ascending.
        var integerIDs: [UInt64] = []
        var uuidIDs: [UInt8] = []
        var previous: PointID?
        for ordinal in 0..<count {
            let id = source.id(ordinal)
            if let p = previous, !(p < id) { throw Failure.unsortedIDs(ordinal: ordinal) }
            previous = id
            switch id {
            case .integer(let n): integerIDs.append(n.littleEndian)
            case .uuid(let u): withUnsafeBytes(of: u.uuid) { uuidIDs += $0 }
            }
        }
        let versions = (0..<count).map { source.version($0).littleEndian }
        var absent = [UInt64](repeating: 0, count: (count + 63) / 64)
        for ordinal in 0..<count where !source.hasVector(ordinal) { absent[ordinal >> 6] |= 1 << UInt64(ordinal & 63) }
        let absentCount = absent.reduce(0) { $0 + $1.nonzeroBitCount }
        var vectors = [Float](repeating: 0, count: count * dimension)
        vectors.withUnsafeMutableBufferPointer { v in
            for ordinal in 0..<count where absent[ordinal >> 6] >> UInt64(ordinal & 63) & 1 == 0 {
                source.copyVector(ordinal, into: v.baseAddress! + ordinal * dimension)
            }
        }
        let quantizer = options.quantizer.flatMap { $0.dimension == dimension ? $0 : nil }
            ?? fitQuantizer(vectors, count: count, dimension: dimension, absent: absentCount > 0 ? absent : nil)
        let words = quantizer.wordsPerCode
        var codes = [UInt64](repeating: 0, count: count * words)
        vectors.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                for i in 0..<count { quantizer.encode(v.baseAddress! + i * dimension, into: c.baseAddress! + i * words) }
            }
        }
        var graph: HNSWBuilder?
        if count - absentCount >= max(options.minGraphPoints, 1) {
            graph = source.withCarriedGraph(m: options.m) { carried in
                let builder = HNSWBuilder(
                    count: count, m: options.m, efConstruction: options.efConstruction, carrying: carried,
                    absent: absentCount > 0 ? absent : nil)
                vectors.withUnsafeBufferPointer { v in
                    builder.build(
                        FloatVectors(base: v.baseAddress!, dimension: dimension, metric: options.metric), threads: options.buildThreads,
                        nice: options.buildNice, stop: stop)
                }
                return builder
            }
        }
        if stop?.isRaised == true { throw Failure.stopped }
        let payloads = try PayloadBlocks.build(count) { try source.payload($0) }
        let sparse = SparseSections.build(source)
        let header = SegmentHeader(
            metric: options.metric, hasGraph: graph != nil, codeWords: words, dimension: dimension, count: count,
            integerIDCount: integerIDs.count, m: graph?.m ?? 0, m0: graph?.m0 ?? 0, entryPoint: graph?.entryPoint ?? 0,
            maxLevel: graph?.maxLevel ?? 0, minLSN: versions.map(UInt64.init(littleEndian:)).min()!,
            maxLSN: versions.map(UInt64.init(littleEndian:)).max()!, hasSparse: sparse != nil,
            hasAbsentVectors: absentCount > 0)

        let temporary = directory + "/.tmp-" + UUID().uuidString.lowercased() + SegmentFormat.fileExtension
        let file = try fs.open(temporary, mode: .createNew)
        var output = SectionOutput(file: file)
        do {
            try output.append(header.encode())
            try output.section(.integerIDs, integerIDs)
            try output.section(.uuidIDs, uuidIDs)
            try output.section(.versions, versions)
            try output.section(.vectors, vectors)
            try output.section(.quantizerMean, quantizer.mean)
            try output.section(.codes, codes)
            if let graph {
                try output.section(.graphLevels, graph.levels)
                try output.section(.graphLevel0, graph.level0)
                try output.section(.graphUpperIndex, graph.upperIndex)
                try output.section(.graphUpper, graph.upper)
            }
            try output.section(.payloadIndex, payloads.index)
            try output.section(.payloadData, payloads.data)
            if let sparse {
                try output.section(.sparseNames, sparse.names)
                try output.section(.sparseOffsets, sparse.offsets)
                try output.section(.sparseIndices, sparse.indices)
                try output.section(.sparseValues, sparse.values)
                try output.section(.sparseTermKeys, sparse.termKeys)
                try output.section(.sparseTermStarts, sparse.termStarts)
                try output.section(.sparsePostingOrdinals, sparse.postingOrdinals)
                try output.section(.sparsePostingValues, sparse.postingValues)
            }
            if absentCount > 0 { try output.section(.absentVectors, absent.map(\.littleEndian)) }
            let table = SegmentTail.encodeTable(output.entries)
            let tableOffset = output.offset
            try output.append(table)
            try output.append(SegmentTail.encode(
                tableOffset: tableOffset, sections: output.entries.count, tableCRC: CRC32C.mask(CRC32C.checksum(table))))
            try file.sync()
            try file.close()
        } catch {
            try? file.close()
            try? fs.remove(temporary)
            throw error
        }
        let contentID = output.hasher.finalize().lowercaseHex
        let name = SegmentFormat.fileName(contentID: contentID)
        CrashPoint.reach("segment-before-rename")
        try fs.rename(temporary, to: directory + "/" + name)
        try fs.syncDirectory(directory)
        CrashPoint.reach("segment-after-rename")
        return SegmentInfo(
            contentID: contentID, fileName: name, bytes: output.offset, count: count, minLSN: header.minLSN, maxLSN: header.maxLSN)
    }
}

/// A quantizer centred on the mean of the vectors the points carry (`absent`: bit o set when
/// ordinal o carries none; with no vector at all, centred on zero).
private func fitQuantizer(_ vectors: [Float], count: Int, dimension: Int, absent: [UInt64]?) -> BinaryQuantizer {
    guard let absent else {
        return vectors.withUnsafeBufferPointer { BinaryQuantizer.fit($0.baseAddress!, count: count, dimension: dimension) }
    }
    var present: [Float] = []
    for o in 0..<count where absent[o >> 6] >> UInt64(o & 63) & 1 == 0 { present += vectors[(o * dimension)..<((o + 1) * dimension)] }
    guard !present.isEmpty else { return BinaryQuantizer(mean: [Float](repeating: 0, count: dimension)) }
    return present.withUnsafeBufferPointer { BinaryQuantizer.fit($0.baseAddress!, count: present.count / dimension, dimension: dimension) }
}

/// Appends sections to the file being written, aligned, with their CRCs and the running
/// SHA-256 of every byte.
private struct SectionOutput {
    let file: any File
    var offset = 0
    var entries: [SectionEntry] = []
    var hasher = SHA256()

    init(file: any File) { self.file = file }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        try file.write(bytes, at: Int64(offset))
        hasher.update(bufferPointer: bytes)
        offset += bytes.count
    }

    mutating func append(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try append($0) } }

    mutating func section<T>(_ kind: SectionKind, _ values: [T]) throws {
        let padding = (SegmentFormat.alignment - offset % SegmentFormat.alignment) % SegmentFormat.alignment
        try append([UInt8](repeating: 0, count: padding))
        let start = offset
        let crc = try values.withUnsafeBytes { raw -> UInt32 in
            try append(raw)
            return CRC32C.mask(CRC32C.checksum(raw))
        }
        entries.append(SectionEntry(kind: kind, crc: crc, offset: start, length: offset - start))
    }
}
