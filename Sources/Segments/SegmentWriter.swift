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
        precondition(source.laneDimensions.count == options.lanes.count && options.lanes.count <= 255, "one index option per lane")
        let base = LaneIndexOptions(metric: options.metric, m: options.m, efConstruction: options.efConstruction, quantizer: options.quantizer)
        let dense = ([(dimension, base)] + zip(source.laneDimensions, options.lanes).map { ($0, $1) }).enumerated().map { lane, d in
            DenseSections.build(source, lane: lane, dimension: d.0, index: d.1, options: options, stop: stop)
        }
        if stop?.isRaised == true { throw Failure.stopped }
        let payloads = try PayloadBlocks.build(count) { try source.payload($0) }
        let sparse = SparseSections.build(source)
        var header = SegmentHeader(
            metric: options.metric, hasGraph: false, codeWords: 0, dimension: dimension, count: count,
            integerIDCount: integerIDs.count, m: 0, m0: 0, entryPoint: 0, maxLevel: 0,
            minLSN: versions.map(UInt64.init(littleEndian:)).min()!, maxLSN: versions.map(UInt64.init(littleEndian:)).max()!,
            hasSparse: sparse != nil, lanes: dense.count - 1)
        dense[0].describe(&header, metric: options.metric)

        let temporary = directory + "/.tmp-" + UUID().uuidString.lowercased() + SegmentFormat.fileExtension
        let file = try fs.open(temporary, mode: .createNew)
        var output = SectionOutput(file: file)
        do {
            try output.append(header.encode())
            try output.section(.integerIDs, integerIDs)
            try output.section(.uuidIDs, uuidIDs)
            try output.section(.versions, versions)
            try dense[0].write(to: &output, lane: 0)
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
            try dense[0].writeAbsent(to: &output, lane: 0)
            for (i, lane) in dense.enumerated().dropFirst() {
                var laneHeader = header
                laneHeader.hasSparse = false
                laneHeader.lanes = 0
                lane.describe(&laneHeader, metric: options.lanes[i - 1].metric)
                try output.section(.laneHeader, laneHeader.encode(), lane: i)
                try lane.write(to: &output, lane: i)
                try lane.writeAbsent(to: &output, lane: i)
            }
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

/// Appends sections to the file being written, aligned, with their CRCs and the running
/// SHA-256 of every byte.
struct SectionOutput {
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

    mutating func section<T>(_ kind: SectionKind, _ values: [T], lane: Int = 0) throws {
        let padding = (SegmentFormat.alignment - offset % SegmentFormat.alignment) % SegmentFormat.alignment
        try append([UInt8](repeating: 0, count: padding))
        let start = offset
        let crc = try values.withUnsafeBytes { raw -> UInt32 in
            try append(raw)
            return CRC32C.mask(CRC32C.checksum(raw))
        }
        entries.append(SectionEntry(kind: kind, crc: crc, offset: start, length: offset - start, lane: lane))
    }
}
